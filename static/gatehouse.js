// Progressive enhancement only: every page works without this file.
import { initAll } from "/assets/govuk-frontend.min.js";

initAll();

// OAuth 2.0 Form Post Response Mode: send the response on without a click.
const autosubmit = document.querySelector("form[data-gatehouse-autosubmit]");
if (autosubmit) {
  autosubmit.submit();
}

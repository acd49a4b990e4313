// Progressive enhancement only: every page works without this file.
import { initAll } from "/assets/govuk-frontend.min.js";

initAll();

// OAuth 2.0 Form Post Response Mode: send the response on without a click.
const autosubmit = document.querySelector("form[data-gatehouse-autosubmit]");
if (autosubmit) {
  autosubmit.submit();
}

// Code pages: the time a code works for, counting down. Without JavaScript the page
// already says until when it works; this only keeps the words current.
for (const countdown of document.querySelectorAll(".gh-countdown[data-expires-at]")) {
  const expiresAt = Number(countdown.dataset.expiresAt) * 1000;
  const tick = () => {
    const left = Math.round((expiresAt - Date.now()) / 1000);
    // The words come from the page, already in the person's language.
    if (left <= 0) {
      countdown.textContent = countdown.dataset.expired;
      return;
    }
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    countdown.textContent = minutes
      ? countdown.dataset.minutes.replace("{m}", minutes).replace("{s}", seconds)
      : countdown.dataset.seconds.replace("{n}", left);
    setTimeout(tick, 1000);
  };
  tick();
}

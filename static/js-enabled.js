// Loaded at the top of <body>, before anything is drawn: tells GOV.UK Frontend's styles
// that JavaScript runs (and whether its modules will), without an inline script.
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");

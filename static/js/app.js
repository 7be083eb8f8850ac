// Small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // Move focus to an error summary so keyboard and screen-reader users hear what needs fixing.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
    // Buttons that ask before acting: <button data-confirm="...">.
    document.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        if (!window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
  });
  // htmx sends the CSRF token from the meta tag on every request.
  document.addEventListener("htmx:configRequest", function (ev) {
    var meta = document.querySelector("meta[name=csrf-token]");
    if (meta) { ev.detail.headers["X-CSRFToken"] = meta.getAttribute("content"); }
  });
})();

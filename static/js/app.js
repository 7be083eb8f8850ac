// Small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.getAttribute("content") : "";
  }

  // Idle timeout: warn before the server ends the session, offer to continue.
  function setupIdleWarning() {
    var body = document.body;
    var idle = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
    var warn = parseInt(body.getAttribute("data-idle-warning") || "0", 10);
    var dialog = document.getElementById("idle-warning");
    if (!idle || !dialog) { return; }
    var warnTimer = null;
    var endTimer = null;
    function schedule() {
      window.clearTimeout(warnTimer);
      window.clearTimeout(endTimer);
      warnTimer = window.setTimeout(function () {
        if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
        var button = document.getElementById("idle-continue");
        if (button) { button.focus(); }
      }, Math.max(0, idle - warn) * 1000);
      endTimer = window.setTimeout(function () {
        var next = encodeURIComponent(window.location.pathname);
        window.location.assign(body.getAttribute("data-login-url") + "?next=" + next);
      }, idle * 1000 + 1000);
    }
    document.getElementById("idle-continue").addEventListener("click", function () {
      fetch(body.getAttribute("data-keepalive-url"), {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() }
      }).then(function (response) {
        if (response.status === 204) {
          if (typeof dialog.close === "function") { dialog.close(); } else { dialog.removeAttribute("open"); }
          schedule();
        } else {
          window.location.assign(body.getAttribute("data-login-url"));
        }
      });
    });
    // htmx actions the user takes count as activity; background polling (data-idle-passive) not.
    document.addEventListener("htmx:afterRequest", function (ev) {
      var elt = ev.detail && ev.detail.elt;
      if (elt && !elt.hasAttribute("data-idle-passive")) { schedule(); }
    });
    schedule();
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to an error summary so keyboard and screen-reader users hear what needs fixing.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
    // Buttons that ask before acting: <button data-confirm="...">.
    document.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        if (!window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
    setupIdleWarning();
  });

  // "Select all on this page" in a group mailbox's list (mailboxes/_bulk_actions.html): shown only
  // with JavaScript; it ticks or clears the rows' checkboxes of its form, and follows them.
  function rowBoxes(all) {
    return document.querySelectorAll('input[type=checkbox][name="' + all.getAttribute("data-select-all") +
      '"][form="' + all.getAttribute("form") + '"]');
  }
  function revealSelectAll(root) {
    root.querySelectorAll("[data-select-all-wrapper]").forEach(function (el) { el.hidden = false; });
  }
  document.addEventListener("change", function (ev) {
    var target = ev.target;
    if (!(target instanceof HTMLInputElement) || target.type !== "checkbox") { return; }
    if (target.hasAttribute("data-select-all")) {
      rowBoxes(target).forEach(function (box) { box.checked = target.checked; });
      return;
    }
    var form = target.getAttribute("form");
    var all = form && document.querySelector('[data-select-all="' + target.name + '"][form="' + form + '"]');
    if (!all) { return; }
    var boxes = Array.prototype.slice.call(rowBoxes(all));
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  });
  document.addEventListener("DOMContentLoaded", function () { revealSelectAll(document); });
  document.addEventListener("htmx:load", function (ev) { revealSelectAll(ev.detail.elt); });

  // htmx sends the CSRF token from the meta tag on every request.
  document.addEventListener("htmx:configRequest", function (ev) {
    ev.detail.headers["X-CSRFToken"] = csrfToken();
  });
})();

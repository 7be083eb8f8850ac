// The workspace (mailboxes/_workspace.html): keyboard shortcuts, the help dialog, the tab title's
// unread count and what follows an htmx swap of a pane. Every link and button works without it.
(function () {
  "use strict";

  var KEYS_OFF = "lifemsg.keys-off"; // WCAG 2.1.4: single-key shortcuts can be switched off

  function $(selector, root) { return (root || document).querySelector(selector); }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#ws-list [data-thread-link]")); }
  function keysOn() {
    try { return window.localStorage.getItem(KEYS_OFF) !== "1"; } catch (e) { return true; }
  }

  function typing(el) {
    if (!el || el === document.body) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // The chosen row: the one with focus, else the one marked as open, else none.
  function chosenIndex(list) {
    var i = list.indexOf(document.activeElement);
    if (i < 0) { i = list.findIndex(function (a) { return a.classList.contains("is-chosen"); }); }
    if (i < 0) { i = list.findIndex(function (a) { return a.getAttribute("aria-current") === "true"; }); }
    return i;
  }

  function choose(list, i) {
    if (!list.length) { return; }
    i = Math.max(0, Math.min(list.length - 1, i));
    list.forEach(function (a) { a.classList.remove("is-chosen"); });
    list[i].classList.add("is-chosen");
    list[i].focus();
  }

  function clickShortcut(key) {
    var button = $('#ws-thread [data-shortcut="' + key + '"]');
    if (button) { button.click(); }
  }

  function focusReply() {
    // The reply (or to the citizen); who may not write to the citizen writes a note.
    var field = $("#ws-thread [data-reply-form] textarea") || $("#ws-thread [data-note-form] textarea");
    if (field) { field.focus(); }
  }

  var ACTIONS = {
    j: function () { var l = rows(); choose(l, chosenIndex(l) + 1); },
    k: function () { var l = rows(); var i = chosenIndex(l); choose(l, i < 0 ? 0 : i - 1); },
    Enter: function () { var l = rows(); var i = chosenIndex(l); if (l.length) { l[Math.max(i, 0)].click(); } },
    r: focusReply,
    t: function () { clickShortcut("t"); },
    e: function () { clickShortcut("e"); },
    u: function () { clickShortcut("u"); },
    // The open thread's saved replies (replies/_composer.html): choose one, then Tab to Insert.
    i: function () { var s = $('#ws-thread [data-shortcut="i"]'); if (s) { s.focus(); } },
    "/": function () { var s = $("#ws-search"); if (s) { s.focus(); } },
    "?": function () { openHelp(); }
  };

  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) { return; }
    if (!keysOn() || typing(ev.target) || document.querySelector("dialog[open]")) { return; }
    var action = ACTIONS[ev.key];
    // Enter on a link or button is the browser's own: only Enter with nothing in focus opens the row.
    if (!action || (ev.key === "Enter" && ev.target !== document.body && ev.target.id !== "main")) { return; }
    ev.preventDefault();
    action();
  }

  // Ctrl+Enter (Cmd+Enter) in the reply or note field sends it.
  function onSendKey(ev) {
    if (ev.key !== "Enter" || !(ev.ctrlKey || ev.metaKey)) { return; }
    var form = ev.target.closest && ev.target.closest("[data-reply-form], [data-note-form]");
    if (form && ev.target.tagName === "TEXTAREA") {
      ev.preventDefault();
      form.requestSubmit();
    }
  }

  // --- the help dialog: modal (the page behind is inert), Tab stays inside, Esc closes, focus returns.
  var returnFocus = null;

  function openHelp() {
    var dialog = $("#keys-help");
    if (!dialog || dialog.open) { return; }
    returnFocus = document.activeElement;
    dialog.showModal();
    var first = dialog.querySelector("input, button");
    if (first) { first.focus(); }
  }

  function setupHelp() {
    var dialog = $("#keys-help");
    if (!dialog) { return; }
    var toggle = $("#keys-enabled", dialog);
    if (toggle) {
      toggle.checked = keysOn();
      toggle.addEventListener("change", function () {
        try {
          if (toggle.checked) { window.localStorage.removeItem(KEYS_OFF); } else { window.localStorage.setItem(KEYS_OFF, "1"); }
        } catch (e) { /* storage refused: the choice lasts for this page */ }
      });
    }
    dialog.addEventListener("keydown", function (ev) {
      if (ev.key !== "Tab") { return; }
      var items = dialog.querySelectorAll("input, button, a[href]");
      var first = items[0];
      var last = items[items.length - 1];
      if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
      else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
    });
    dialog.addEventListener("close", function () {
      if (returnFocus && document.contains(returnFocus)) { returnFocus.focus(); }
      returnFocus = null;
    });
    // The button is in the mailbox menu, which a mailbox switch replaces: listen on the document.
    document.addEventListener("click", function (ev) {
      if (ev.target.closest && ev.target.closest("[data-keys-help]")) { openHelp(); }
    });
    revealHelpButtons();
  }

  function revealHelpButtons() {
    document.querySelectorAll("[data-keys-help]").forEach(function (button) { button.hidden = false; });
  }

  // --- after a pane was swapped
  function updateTitle() {
    var counts = $("#unread-counts");
    var total = counts ? parseInt(counts.getAttribute("data-unread-total") || "0", 10) : 0;
    var bare = document.title.replace(/^\(\d+\) /, "");
    document.title = total > 0 ? "(" + total + ") " + bare : bare;
  }

  function markOpenRow() {
    var pane = $("#ws-thread");
    var open = pane && pane.getAttribute("data-thread-id");
    rows().forEach(function (a) {
      if (open && a.id === "row-" + open) { a.setAttribute("aria-current", "true"); } else { a.removeAttribute("aria-current"); }
    });
    var workspace = $("#workspace");
    if (workspace) { workspace.classList.toggle("ws--thread-open", Boolean(open)); }
  }

  document.addEventListener("htmx:configRequest", function (ev) {
    // The list, reloaded or paged while a thread is open, keeps that row marked (views/workspace.py).
    var pane = $("#ws-thread");
    var open = pane && pane.getAttribute("data-thread-id");
    if (open && ev.detail.target && ev.detail.target.id === "ws-list") { ev.detail.headers["X-Open-Thread"] = open; }
  });

  // The polled counts rose: new mail. Said politely in a few words, not by reading the list again.
  var knownTotal = null;
  function announceArrivals() {
    var counts = $("#unread-counts");
    if (!counts || !counts.hasAttribute("data-unread-total")) { return; }  // not filled in yet
    var now = parseInt(counts.getAttribute("data-unread-total"), 10);
    var announce = $("#ws-announce");
    if (announce && knownTotal !== null && now > knownTotal) { announce.textContent = counts.getAttribute("data-announce"); }
    knownTotal = now;
  }

  var focusedFor = null;
  document.addEventListener("htmx:afterSettle", function (ev) {
    markOpenRow();
    updateTitle();
    announceArrivals();
    revealHelpButtons();
    var elt = ev.detail.elt;
    if (!elt || !elt.closest || elt.hasAttribute("data-idle-passive") || focusedFor === ev.detail.xhr) { return; }
    // A pane the user asked for: its heading takes focus, so a screen reader says where they are.
    var holder = elt.closest("[hx-target]");
    var target = holder ? holder.getAttribute("hx-target") : "";
    var heading = { "#ws-thread": "#thread-title", "#workspace": "#ws-list-title", "#ws-list": "#ws-list-title" }[target];
    heading = heading ? $(heading) : null;
    if (heading) {
      focusedFor = ev.detail.xhr;
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  });

  document.addEventListener("keydown", onKey);
  document.addEventListener("keydown", onSendKey);
  document.addEventListener("DOMContentLoaded", function () {
    setupHelp();
    updateTitle();
    announceArrivals();
  });
})();

// fleettasks console: the few behaviours htmx does not cover. Loaded as a
// static file (no inline scripts), wired by data- attributes.
(function () {
  "use strict";

  // CSRF: every htmx request sends the page's token in the header the
  // server checks (plain forms carry it in their _csrf field instead;
  // multipart bodies are never read for it, so uploads go through htmx).
  document.addEventListener("htmx:configRequest", function (evt) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) evt.detail.headers["X-Csrf-Token"] = meta.getAttribute("content");
  });

  // Upload progress: an htmx upload from an element with
  // data-progress="<id of a <progress>>" updates that bar.
  document.addEventListener("htmx:xhr:progress", function (evt) {
    var src = evt.detail.elt;
    var id = src && src.getAttribute && src.getAttribute("data-progress");
    if (!id) return;
    var bar = document.getElementById(id);
    if (!bar || !evt.detail.lengthComputable) return;
    bar.hidden = false;
    bar.max = evt.detail.total;
    bar.value = evt.detail.loaded;
  });

  // A field's error message is about the value that was sent: once the
  // user edits the field, the message no longer applies, so it is hidden
  // (the server checks the new value on the next submit).
  document.addEventListener("input", function (evt) {
    var ids = evt.target.getAttribute && evt.target.getAttribute("aria-describedby");
    if (!ids) return;
    ids.split(/\s+/).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && el.classList.contains("field-error")) el.hidden = true;
    });
  });

  document.addEventListener("click", function (evt) {
    var t = evt.target.closest("[data-open-dialog],[data-close-dialog],[data-add-device],[data-clear]");
    if (!t) return;
    // <button data-clear="id"> empties element id (closes a panel)
    if (t.hasAttribute("data-clear")) {
      var panel = document.getElementById(t.getAttribute("data-clear"));
      if (panel) { evt.preventDefault(); panel.replaceChildren(); }
      return;
    }
    // <button data-open-dialog="id"> opens the native <dialog id>.
    if (t.hasAttribute("data-open-dialog")) {
      var d = document.getElementById(t.getAttribute("data-open-dialog"));
      if (d && d.showModal) { evt.preventDefault(); d.showModal(); }
    } else if (t.hasAttribute("data-close-dialog")) {
      var dlg = t.closest("dialog");
      if (dlg) { evt.preventDefault(); dlg.close(); }
    } else {
      // device picker: append "productKey,deviceName" to the target textarea
      evt.preventDefault();
      var area = document.getElementById(t.getAttribute("data-target"));
      if (!area) return;
      var line = t.getAttribute("data-add-device");
      var lines = area.value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
      if (lines.indexOf(line) < 0) lines.push(line);
      area.value = lines.join("\n") + "\n";
      t.setAttribute("aria-pressed", "true");
    }
  });

  // Live pages (views.Live): a hidden element streams the page's updates
  // (htmx's sse extension) and falls back to polling its data-poll-url
  // where a stream is not possible: no EventSource in this browser, or a
  // stream that fails again and again (a proxy that cuts it, say).
  var livePollEvery = "every 3s";
  function livePoll(el) {
    el.removeAttribute("hx-ext");
    el.removeAttribute("sse-connect");
    el.removeAttribute("sse-swap");
    el.removeAttribute("sse-close");
    el.setAttribute("hx-get", el.getAttribute("data-poll-url"));
    el.setAttribute("hx-trigger", livePollEvery);
    el.setAttribute("data-live", "poll");
  }
  if (!window.EventSource) {
    document.addEventListener("htmx:beforeProcessNode", function (evt) {
      var el = evt.target;
      if (el.matches && el.matches("[sse-connect][data-poll-url]")) livePoll(el);
    });
  }
  var liveFailures = new WeakMap();
  document.addEventListener("htmx:sseOpen", function (evt) { liveFailures.delete(evt.target); });
  document.addEventListener("htmx:sseError", function (evt) {
    var el = evt.target;
    if (!el.hasAttribute || !el.hasAttribute("data-poll-url") || !document.body.contains(el)) return;
    var n = (liveFailures.get(el) || 0) + 1;
    liveFailures.set(el, n);
    if (n < 3) return;
    // a new element in its place: htmx closes the stream of the old one
    var poll = el.cloneNode(false);
    livePoll(poll);
    htmx.swap(el, poll.outerHTML, { swapStyle: "outerHTML" });
  });
  // An update does not replace a part of the page the user is working in:
  // an open dialog (Cancel, Rerun ...), an edit form, a field typed in and
  // not sent yet. The next update brings it.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var t = evt.detail.target;
    if (!t || !t.querySelector) return;
    var active = document.activeElement;
    var typing = active && t.contains(active) && active.matches("input, textarea") && active.value !== active.defaultValue;
    if (typing || t.querySelector("dialog[open], form[data-live-keep]")) evt.detail.shouldSwap = false;
  });

  // Radio groups with data-reveal show the panel named by the checked value.
  function reveal(root) {
    (root || document).querySelectorAll("[data-reveal-group]").forEach(function (panel) {
      var group = panel.getAttribute("data-reveal-group");
      var checked = document.querySelector('input[name="' + group + '"]:checked');
      panel.hidden = !checked || checked.value !== panel.getAttribute("data-reveal-value");
    });
  }
  document.addEventListener("change", function (evt) {
    if (evt.target.matches && evt.target.matches("input[type=radio]")) reveal();
  });
  document.addEventListener("DOMContentLoaded", function () { reveal(); });
  document.addEventListener("htmx:afterSettle", function () { reveal(); });
})();

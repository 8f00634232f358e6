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

  // The execution details drawer: opening it moves the focus to its
  // heading and marks the row it belongs to; Escape or Close empties it
  // and gives the focus back to the link that opened it.
  var drawerOpener = null;
  function closeDrawer(panel) {
    panel.replaceChildren();
    document.querySelectorAll('[data-drawer-row]').forEach(function (r) { r.removeAttribute("data-drawer-row"); r.removeAttribute("aria-current"); });
    if (drawerOpener && document.body.contains(drawerOpener)) drawerOpener.focus();
    drawerOpener = null;
  }
  document.addEventListener("htmx:afterSwap", function (evt) {
    var panel = evt.detail.target;
    if (!panel || !panel.classList || !panel.classList.contains("drawer")) return;
    var opener = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    drawerOpener = opener || null;
    document.querySelectorAll('[data-drawer-row]').forEach(function (r) { r.removeAttribute("data-drawer-row"); r.removeAttribute("aria-current"); });
    var row = opener && opener.closest && opener.closest("tr");
    if (row) { row.setAttribute("data-drawer-row", ""); row.setAttribute("aria-current", "true"); }
    var heading = panel.querySelector("h3[tabindex]");
    if (heading) heading.focus();
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var panel = document.querySelector(".drawer");
    if (panel && panel.firstElementChild && !document.querySelector("dialog[open]")) { evt.preventDefault(); closeDrawer(panel); }
  });

  document.addEventListener("click", function (evt) {
    var t = evt.target.closest("[data-open-dialog],[data-close-dialog],[data-add-device],[data-clear]");
    if (!t) return;
    // <button data-clear="id"> empties element id (closes a panel)
    if (t.hasAttribute("data-clear")) {
      var panel = document.getElementById(t.getAttribute("data-clear"));
      if (panel) { evt.preventDefault(); closeDrawer(panel); }
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

  // Bulk selection: the checkboxes with data-bulk-select and form=<id>
  // belong to the form[data-bulk] of that id; a checkbox with
  // data-bulk-all=<id> ticks them all. The form's [data-bulk-button]s are
  // enabled only with a selection, and every [data-bulk-count=<id>] says
  // how many in its data-none, data-one or data-many words (# the number).
  function bulk() {
    document.querySelectorAll("form[data-bulk]").forEach(function (form) {
      // getAttribute: form.id would be the form's controls named "id"
      var id = form.getAttribute("id");
      var boxes = document.querySelectorAll('input[data-bulk-select][form="' + id + '"]');
      var n = 0;
      boxes.forEach(function (b) { if (b.checked) n++; });
      form.querySelectorAll("[data-bulk-button]").forEach(function (b) { b.disabled = n === 0; });
      document.querySelectorAll('[data-bulk-count="' + id + '"]').forEach(function (el) {
        var words = n === 1 ? el.getAttribute("data-one") : (n === 0 && el.getAttribute("data-none")) || el.getAttribute("data-many");
        if (words) el.textContent = words.replace("#", String(n));
      });
      document.querySelectorAll('input[data-bulk-all="' + id + '"]').forEach(function (all) {
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      });
    });
  }
  document.addEventListener("change", function (evt) {
    var t = evt.target;
    if (!t.matches) return;
    if (t.matches("input[data-bulk-all]")) {
      document.querySelectorAll('input[data-bulk-select][form="' + t.getAttribute("data-bulk-all") + '"]').forEach(function (b) { b.checked = t.checked; });
      bulk();
    } else if (t.matches("input[data-bulk-select]")) {
      bulk();
    }
  });
  document.addEventListener("DOMContentLoaded", bulk);
  document.addEventListener("htmx:afterSettle", bulk);
  window.addEventListener("pageshow", bulk);
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
  // not sent yet, rows ticked for a bulk action. The next update brings it.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var t = evt.detail.target;
    if (!t || !t.querySelector) return;
    var active = document.activeElement;
    var typing = active && t.contains(active) && active.matches("input, textarea") && active.value !== active.defaultValue;
    var ticked = Array.prototype.some.call(t.querySelectorAll("input[type=checkbox]"), function (b) { return b.checked !== b.defaultChecked; });
    if (typing || ticked || t.querySelector("dialog[open], form[data-live-keep]")) evt.detail.shouldSwap = false;
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

  // A page whose form is kept on the server (the create form's draft)
  // takes the draft's URL, so that a reload or Back brings the values back.
  // Only on a full load: a step htmx shows comes with its URL pushed.
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.querySelector("[data-replace-url]");
    var to = el && el.getAttribute("data-replace-url");
    if (to && location.pathname + location.search !== to) history.replaceState(history.state, "", to);
  });
  document.addEventListener("htmx:afterSettle", function () { reveal(); });
  // <time data-local-time datetime="…Z"> (views.Time): the text becomes
  // the browser's local time with a relative form ("3 minutes ago"); the
  // UTC time the server wrote stays in the title. Done on load, after
  // every htmx swap and each minute (the relative form moves on).
  var absolute = window.Intl && Intl.DateTimeFormat ? new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
  }) : null;
  var relative = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
  function ago(ms) {
    var s = Math.round(ms / 1000), a = Math.abs(s);
    if (a < 45) return relative.format(0, "second");
    if (a < 3600) return relative.format(Math.round(s / 60), "minute");
    if (a < 86400) return relative.format(Math.round(s / 3600), "hour");
    if (a < 30 * 86400) return relative.format(Math.round(s / 86400), "day");
    return "";
  }
  function localTimes(root) {
    if (!absolute) return;
    var now = Date.now();
    (root && root.querySelectorAll ? root : document).querySelectorAll("time[data-local-time]").forEach(function (el) {
      var t = new Date(el.getAttribute("datetime"));
      if (isNaN(t)) return;
      var rel = relative ? ago(t.getTime() - now) : "";
      el.textContent = absolute.format(t) + (rel ? " (" + rel + ")" : "");
    });
  }
  // A <details id> left open stays open when htmx swaps a fresh copy in
  // (the overview refreshes itself every 30 seconds).
  var openDetails = [];
  document.addEventListener("htmx:beforeSwap", function () {
    openDetails = Array.prototype.map.call(document.querySelectorAll("details[id][open]"), function (d) { return d.id; });
  });
  document.addEventListener("htmx:afterSettle", function () {
    openDetails.forEach(function (id) { var d = document.getElementById(id); if (d) d.open = true; });
  });

  document.addEventListener("DOMContentLoaded", function () { localTimes(); });
  document.addEventListener("htmx:afterSettle", function () { localTimes(); });
  document.addEventListener("htmx:load", function (evt) { localTimes(evt.target); });
  setInterval(function () { localTimes(); }, 60000);
})();

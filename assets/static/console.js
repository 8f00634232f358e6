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
})();

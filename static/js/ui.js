// Small page behaviours, loaded on every page (no inline script: the CSP forbids it).
(function () {
  // A table wider than the screen scrolls inside its own box; a keyboard user reaches
  // that box with Tab when nothing inside it takes focus.
  function scrollables(root) {
    root.querySelectorAll(".scroll").forEach(function (box) {
      var wide = box.scrollWidth > box.clientWidth + 1;
      if (wide && !box.hasAttribute("tabindex") && !box.querySelector("a[href], button, input, select, textarea")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", "Table, scrolls sideways");
      }
    });
  }
  // A form with data-confirm asks first; cancelled, nothing is sent (htmx never sees
  // the submit either: this listener runs first, while the event goes down the page).
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // A button with data-copy="#id" copies that element's text, and says so.
  function copyButtons(root) {
    if (!navigator.clipboard) return;  // the text stays on the page to copy by hand
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-status"));
    navigator.clipboard.writeText(source.textContent.trim()).then(
      function () { if (status) status.textContent = "Copied."; },
      function () { if (status) status.textContent = "Could not copy: select the key and copy it."; }
    );
  });

  document.addEventListener("DOMContentLoaded", function () { scrollables(document); copyButtons(document); });
  document.addEventListener("htmx:afterSettle", function (event) { scrollables(event.target); });
})();

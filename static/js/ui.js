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
  document.addEventListener("DOMContentLoaded", function () { scrollables(document); });
  document.addEventListener("htmx:afterSettle", function (event) { scrollables(event.target); });
})();

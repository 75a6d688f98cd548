// The language menu (<details class="language-menu">) opens over the page; left open, it
// hides the links that come after it from a keyboard user tabbing on (WCAG 2.4.11). It closes
// on Escape, focus back on its summary, and when focus or a tap goes elsewhere.
(function () {
  "use strict";
  var menu = document.querySelector("details.language-menu");
  if (!menu) {
    return;
  }
  var summary = menu.querySelector("summary");
  menu.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      summary.focus();
    }
  });
  menu.addEventListener("focusout", function (event) {
    if (event.relatedTarget && !menu.contains(event.relatedTarget)) {
      menu.open = false;
    }
  });
  document.addEventListener("click", function (event) {
    if (menu.open && !menu.contains(event.target)) {
      menu.open = false;
    }
  });
})();

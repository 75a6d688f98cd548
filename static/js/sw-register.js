// Registers the service worker named by this script tag's data-sw attribute, so
// guide pages keep working offline. Relative on purpose: the static export
// serves the same pages from any folder.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.sw || !("serviceWorker" in navigator)) {
    return;
  }
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(script.dataset.sw).catch(function () {
      // No offline copy then; the page itself works as before.
    });
  });
})();

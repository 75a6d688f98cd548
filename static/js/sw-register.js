// Registers the service worker named by this script tag's data-sw attribute, so pages
// keep working offline. Relative on purpose: the static export serves the same pages from
// any folder. Also tells the worker which page came first (it was fetched before the worker
// was in charge), offers a reload when a new version of the app takes over, and loads a
// signed-in page again when Back brings it from the back-forward cache.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) {
    return;
  }
  if (script.dataset.reader) {
    // Back shows a page as it was left (the back-forward cache): a signed-in page is loaded
    // again, or a reminder just read would still say "New". Not one with something typed or
    // chosen in it: that would be lost.
    var edited = false;
    document.addEventListener("input", function () {
      edited = true;
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted && !edited) {
        location.reload();
      }
    });
  }
  if (!script.dataset.sw || !("serviceWorker" in navigator)) {
    return;
  }
  var text = script.dataset;
  var firstVisit = !navigator.serviceWorker.controller;
  var controlled = !firstVisit;
  navigator.serviceWorker.addEventListener("controllerchange", function () {
    if (!controlled) {
      controlled = true; // The first worker: nothing on this page is old.
      return;
    }
    if (document.getElementById("app-updated") || !text.updated) {
      return;
    }
    var note = document.createElement("div");
    note.id = "app-updated";
    note.className = "message updated";
    note.setAttribute("role", "status");
    var words = document.createElement("span");
    words.textContent = text.updated + " ";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = text.reload;
    button.addEventListener("click", function () {
      location.reload();
    });
    note.append(words, button);
    (document.querySelector("main") || document.body).prepend(note);
  });
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(script.dataset.sw).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      if (firstVisit && registration.active) {
        registration.active.postMessage({
          type: "visited",
          url: location.href,
          language: document.documentElement.lang,
          reader: text.reader, // "" when nobody is signed in
        });
      }
    }).catch(function () {
      // No offline copy then; the page itself works as before.
    });
  });
})();

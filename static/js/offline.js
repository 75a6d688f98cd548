// The offline page: lists the guide pages this device kept, and the signed-in reader's own
// list (their care team's modules and numbers), both read from the service worker's caches.
// Pages not kept are hidden. Nothing here comes from the server: the page is the same for all.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.caches) {
    return;
  }
  var scope = new URL(script.dataset.scope || "/", location.href);
  var here = location.pathname;
  // "Try again" asks for the page that was asked for (the start page without this script).
  document.getElementById("try-again").href = location.href;
  if (document.documentElement.hasAttribute("data-not-sent")) {
    // The worker shows this page in place of a form it could not send.
    document.getElementById("not-sent").hidden = false;
  } else if (here !== new URL(script.dataset.page, location.href).pathname && here !== scope.pathname) {
    // The worker shows this page in place of one it did not keep (the app's start is fine).
    document.getElementById("not-kept").hidden = false;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("#kept li[data-url]"));
  function kept(url) {
    return caches.match(new URL(url, location.href).href).then(Boolean);
  }
  Promise.all(rows.map(function (row) {
    return kept(row.dataset.url).then(function (yes) {
      row.hidden = !yes;
      return yes;
    });
  })).then(function (found) {
    document.getElementById("none-kept").hidden = found.some(Boolean);
  });
  caches.match(new URL("__reader.json", scope).href)
    .then(function (saved) {
      return saved ? saved.json() : null;
    })
    .then(function (list) {
      // Only while the sign-in lasts: a phone left alone shows nobody's list.
      if (!list || new Date(list.until) < new Date()) {
        return;
      }
      var assigned = document.querySelector("#assigned ul");
      list.modules.forEach(function (module) {
        var row = document.querySelector('#kept li[data-slug="' + module.slug + '"]');
        kept(module.url).then(function (yes) {
          if (row && yes) {
            var copy = row.cloneNode(true);
            copy.querySelector("a").href = module.url;
            copy.hidden = false;
            assigned.appendChild(copy);
            document.getElementById("assigned").hidden = false;
          }
        });
      });
      var phones = document.querySelector("#phones ul");
      var template = document.getElementById("phone-row");
      list.phones.forEach(function (clinic) {
        var row = template.content.cloneNode(true);
        row.querySelector(".clinic").textContent = clinic.clinic;
        [["daytime", clinic.daytime], ["after-hours", clinic.after_hours]].forEach(function (pair) {
          var link = row.querySelector("." + pair[0]);
          link.textContent = pair[1];
          link.href = "tel:" + pair[1].replace(/[^\d+]/g, "");
        });
        phones.appendChild(row);
      });
      document.getElementById("phones").hidden = !list.phones.length;
    });
})();

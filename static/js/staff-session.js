// Warns staff shortly before their idle sign-out and lets them stay signed in with one press
// (WCAG 2.2.1). Asking how long is left does not count as activity, so a tab left open does not
// keep anyone signed in; activity in another tab is seen when the warning is due.
(function () {
  "use strict";
  var box = document.getElementById("session-warning");
  if (!box || !window.fetch) { return; }
  var form = box.querySelector("form");
  var lead = Number(box.dataset.lead);
  var timer = 0;

  function later(seconds) {
    clearTimeout(timer);
    timer = setTimeout(look, Math.max(seconds, 1) * 1000);
  }
  function read(response) {
    if (!response.ok) { throw new Error(String(response.status)); }
    return response.json();
  }
  function show(state) {
    if (state.left > lead) {
      box.hidden = true;
      later(state.left - lead);
      return;
    }
    box.querySelector(".idle").hidden = state.final;
    box.querySelector(".final").hidden = !state.final;
    form.hidden = state.final;
    box.hidden = false;
    later(state.left + 1);
  }
  function hide() { box.hidden = true; }
  function look() {
    fetch(form.action, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(read).then(show).catch(hide);
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json" }
    // On failure, look again rather than send the form: leaving the page would lose the work
    // the warning is there to keep.
    }).then(read).then(show).catch(look);
  });
  later(Number(box.dataset.idle) - lead);
})();

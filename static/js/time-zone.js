// Offers the time zone this phone or computer is set to, when it differs from the saved one.
// Nothing changes until the person taps the button and then saves the form.
(function () {
  "use strict";
  var box = document.getElementById("zone-detected");
  var select = document.getElementById("id_time_zone");
  if (!box || !select || !window.Intl) {
    return;
  }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var known = Array.prototype.some.call(select.options, function (option) {
    return option.value === zone;
  });
  if (!zone || !known || zone === box.dataset.saved) {
    return;
  }
  box.querySelector(".zone").textContent = zone.replace(/_/g, " ");
  box.hidden = false;
  box.querySelector("button").addEventListener("click", function () {
    select.value = zone;
    box.querySelector(".result").textContent = box.dataset.chosen;
  });
})();

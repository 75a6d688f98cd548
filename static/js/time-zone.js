// Offers the time zone this phone or computer is set to, when it differs from the saved one.
// Nothing changes until the person taps the button and then saves the form.
(function () {
  "use strict";
  var box = document.getElementById("zone-detected");
  var select = document.getElementById("id_time_zone");
  if (!box || !select || !window.Intl) {
    return;
  }
  var detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var options = Array.prototype.map.call(select.options, function (option) {
    return option.value;
  });
  // Browsers may name a zone by an older alias (Asia/Calcutta for Asia/Kolkata): find the
  // list's name that the browser resolves to the same zone.
  var zone = options.indexOf(detected) >= 0 ? detected : options.filter(function (name) {
    try {
      return new Intl.DateTimeFormat("en", { timeZone: name }).resolvedOptions().timeZone === detected;
    } catch (error) {
      return false;
    }
  })[0];
  if (!zone || zone === box.dataset.saved) {
    return;
  }
  box.querySelector(".zone").textContent = zone.replace(/_/g, " ");
  box.hidden = false;
  box.querySelector("button").addEventListener("click", function () {
    select.value = zone;
    box.querySelector(".result").textContent = box.dataset.chosen;
  });
})();

// A "Copy" button for the calendar address; without it the address can still be selected.
(function () {
  "use strict";
  var box = document.getElementById("copy-address");
  var source = box && document.getElementById(box.dataset.target);
  if (!source || !navigator.clipboard) {
    return;
  }
  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.textContent = box.dataset.label;
  var said = document.createElement("span");
  said.className = "result";
  box.append(button, " ", said);
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(source.textContent.trim()).then(
      function () {
        said.textContent = box.dataset.done;
      },
      function () {
        said.textContent = box.dataset.failed;
      },
    );
  });
})();

// A print button for pages meant to be printed; without JavaScript the page says to use
// the browser's Print command, so the button stays hidden.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}

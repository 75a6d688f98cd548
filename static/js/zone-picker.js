// Progressive enhancement for the time-zone list: a search box above it that keeps only the
// matching zones (case and accents ignored). Without JavaScript the list works as it is.
const fold = (text) => text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[_/]+/g, " ");

for (const select of document.querySelectorAll("select.zone-picker")) {
  const search = document.createElement("input");
  search.type = "search";
  search.className = "zone-search";
  search.id = `${select.id}-search`;
  search.setAttribute("aria-controls", select.id);
  const label = document.createElement("label");
  label.htmlFor = search.id;
  label.textContent = select.dataset.searchLabel || "Search";
  select.before(label, search);
  search.addEventListener("input", () => {
    const words = fold(search.value).split(" ").filter(Boolean);
    let first = null;
    for (const option of select.options) {
      const text = fold(`${option.value} ${option.text}`);
      option.hidden = !words.every((word) => text.includes(word));
      if (!option.hidden && first === null) first = option;
    }
    if (first && select.selectedOptions[0]?.hidden) select.value = first.value;
  });
}

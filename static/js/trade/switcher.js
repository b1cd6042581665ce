// The market switcher on the trade page: the market's name opens a list of every market with
// its last price and 24h change, filtered as the user types (symbol or asset name); arrow keys
// move through it, Enter opens the first match, Escape or a click outside closes it.

export function createSwitcher(root) {
  if (!root) return;
  const toggle = root.querySelector("[data-switcher-toggle]");
  const panel = root.querySelector(".switcher");
  const search = root.querySelector("[data-switcher-search]");
  const items = [...root.querySelectorAll("[data-switcher-list] li")];
  const empty = root.querySelector("[data-switcher-empty]");

  const visibleLinks = () => items.filter((li) => !li.hidden).map((li) => li.querySelector("a"));

  function open(show) {
    panel.hidden = !show;
    toggle.setAttribute("aria-expanded", String(show));
    if (show) {
      search.value = "";
      filter();
      search.focus();
    }
  }

  function filter() {
    const words = search.value.trim().toLowerCase().split(/[\s/-]+/).filter(Boolean);
    let shown = 0;
    for (const li of items) {
      const match = words.every((word) => li.dataset.search.includes(word));
      li.hidden = !match;
      if (match) shown += 1;
    }
    empty.hidden = shown > 0;
  }

  toggle.addEventListener("click", () => open(panel.hidden));
  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    const links = visibleLinks();
    if (event.key === "Enter" && links.length) {
      event.preventDefault();
      links[0].click();
    } else if (event.key === "ArrowDown" && links.length) {
      event.preventDefault();
      links[0].focus();
    }
  });
  panel.addEventListener("keydown", (event) => {
    const links = visibleLinks();
    const at = links.indexOf(document.activeElement);
    if (event.key === "Escape") {
      open(false);
      toggle.focus();
    } else if (at >= 0 && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      const next = at + (event.key === "ArrowDown" ? 1 : -1);
      if (next < 0) search.focus();
      else links[Math.min(next, links.length - 1)].focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!panel.hidden && !root.contains(event.target)) open(false);
  });
}

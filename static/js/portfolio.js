// The portfolio page: each asset's allocation bar takes its share's width (a style set from
// script: the page's policy allows no style attributes).
for (const bar of document.querySelectorAll("[data-share]")) {
  bar.style.width = `${Math.max(0, Math.min(100, Number(bar.dataset.share)))}%`;
}

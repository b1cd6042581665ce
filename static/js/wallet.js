// The wallet page: the withdrawal form says the chosen asset's fee, minimum and address format
// and offers its most (Max); balances, deposits, withdrawals (status, transaction id, reason)
// and the ledger follow every change live: a push on the private "balances" or
// "notifications" channel re-reads the page and swaps those sections (the server renders them,
// once), leaving the forms as the user is typing them.
import { pageData } from "./api.js";
import { trimZeros } from "./decimal.js";
import { formatNumber, localiseTimes } from "./format.js";
import * as realtime from "./realtime.js";

const REFRESH_DELAY_MS = 250;
const terms = new Map((pageData("withdrawal-terms") || []).map((t) => [t.asset, t]));
const form = document.querySelector("[data-withdraw-form]");

function amountText(value, symbol) {
  return `${formatNumber(value)} ${symbol}`;
}

function showTerms() {
  if (!form) return;
  const asset = form.elements.namedItem("asset").value;
  const t = terms.get(asset);
  const help = form.querySelector("[data-withdraw-terms]");
  const hint = form.querySelector("[data-address-hint]");
  const max = form.querySelector("[data-withdraw-max]");
  if (!t) return;
  if (!t.enabled) {
    help.textContent = `Withdrawals of ${asset} are paused.`;
  } else {
    help.textContent = `Fee ${amountText(trimZeros(t.fee), asset)}, minimum `
      + `${amountText(trimZeros(t.minimum), asset)}. The fee is added to the amount; `
      + `you can withdraw up to ${amountText(t.max, asset)}.`;
  }
  hint.textContent = t.address_hint ? `${asset} address: ${t.address_hint}` : `An address on the ${asset} chain.`;
  max.disabled = !t.enabled || /^0(\.0+)?$/.test(t.max);
  // The name starts with the visible "Max" (WCAG 2.5.3: what is shown is what is spoken).
  max.setAttribute("aria-label", `Max: withdraw the most, ${amountText(t.max, asset)}`);
}

if (form) {
  form.elements.namedItem("asset").addEventListener("change", showTerms);
  form.querySelector("[data-withdraw-max]").addEventListener("click", () => {
    const t = terms.get(form.elements.namedItem("asset").value);
    if (!t) return;
    const amount = form.elements.namedItem("amount");
    amount.value = t.max;
    amount.focus();
  });
  showTerms();
}

// --- live sections ---------------------------------------------------------------------------

let timer = null;

async function refresh() {
  timer = null;
  let html;
  try {
    const response = await fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) return;
    html = await response.text();
  } catch {
    return; // the next push tries again
  }
  const fresh = new DOMParser().parseFromString(html, "text/html");
  for (const section of document.querySelectorAll("[data-live-section]")) {
    const next = fresh.querySelector(`[data-live-section="${section.dataset.liveSection}"]`);
    if (next) section.replaceChildren(...next.childNodes);
    localiseTimes(section);
  }
  const nextTerms = fresh.getElementById("withdrawal-terms");
  if (nextTerms) {
    for (const t of JSON.parse(nextTerms.textContent)) terms.set(t.asset, t);
    showTerms();
  }
  document.body.dataset.walletRefreshed = String(Number(document.body.dataset.walletRefreshed || 0) + 1);
}

function soon() {
  if (!timer) timer = setTimeout(refresh, REFRESH_DELAY_MS);
}

if (realtime.available()) {
  realtime.subscribe("balances", soon);
  realtime.subscribe("notifications", (note) => {
    if (String(note.kind).startsWith("withdrawal_")) soon();
  });
  realtime.onReconnect(soon);
}

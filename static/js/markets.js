// The market list: live tickers over /ws/ ("ticker:SYM" per market), status badges (halted,
// cancel-only, stale feed) refreshed from /api/v1/markets, and sortable columns.
import { api, pageData } from "./api.js";
import { changeClass, formatNumber, formatPercent } from "./format.js";
import * as realtime from "./realtime.js";

const STATUS_POLL_MS = 10000;
const TICKER_POLL_MS = 5000;

const table = document.querySelector("[data-markets-table]");
const markets = new Map((pageData("markets-data") || []).map((m) => [m.symbol, m]));
const tbody = table.tBodies[0];
let sortKey = null;
let sortDescending = false;

function rowOf(symbol) {
  return tbody.querySelector(`tr[data-symbol="${CSS.escape(symbol)}"]`);
}

function setCell(row, field, key, text, unit) {
  const cell = row.querySelector(`[data-field="${field}"]`);
  if (!cell) return;
  const changed = cell.dataset.key !== (key ?? "");
  cell.dataset.key = key ?? "";
  cell.textContent = text;
  if (unit) {
    const span = document.createElement("span");
    span.className = "muted";
    span.textContent = " " + unit;
    cell.append(span);
  }
  return changed;
}

function applyTicker(ticker) {
  const market = markets.get(ticker.symbol);
  const row = rowOf(ticker.symbol);
  if (!market || !row) return;
  const prices = market.price_places;
  const lastCell = row.querySelector('[data-field="last"]');
  const previous = lastCell.dataset.key;
  if (setCell(row, "last", ticker.last, formatNumber(ticker.last, prices)) && previous && ticker.last) {
    const up = Number(ticker.last) >= Number(previous);
    lastCell.classList.remove("flash-up", "flash-down");
    void lastCell.offsetWidth; // restart the animation
    lastCell.classList.add(up ? "flash-up" : "flash-down");
  }
  setCell(row, "change", ticker.change_24h_pct, formatPercent(ticker.change_24h_pct));
  const change = row.querySelector('[data-field="change"]');
  change.classList.remove("buy", "sell");
  if (changeClass(ticker.change_24h_pct)) change.classList.add(changeClass(ticker.change_24h_pct));
  setCell(row, "high", ticker.high_24h, formatNumber(ticker.high_24h, prices));
  setCell(row, "low", ticker.low_24h, formatNumber(ticker.low_24h, prices));
  setCell(row, "volume", ticker.volume_24h,
          formatNumber(ticker.volume_24h, market.quantity_places), market.base);
  setCell(row, "value", ticker.quote_volume_24h,
          formatNumber(ticker.quote_volume_24h, market.quote_decimals), market.quote);
  if (sortKey && sortKey !== "symbol") sortRows();
}

function statusBadge(market) {
  const age = market.feed_age_ms;
  const stale = market.price_source !== "book"
    && (age === null || age === undefined || age > market.feed_stale_after_ms);
  if (market.status === "halted") return ["halted", "Halted", "No new orders"];
  if (market.status === "cancel_only") return ["cancel-only", "Cancel only", "Only cancels are accepted"];
  if (stale) return ["stale", "Stale feed", "No fresh feed price: market orders are paused"];
  return null;
}

function applyStatus(market) {
  const row = rowOf(market.symbol);
  if (!row) return;
  const cell = row.querySelector('[data-field="status"]');
  const badge = statusBadge(market);
  cell.replaceChildren();
  if (badge) {
    const span = document.createElement("span");
    span.className = "badge-status " + badge[0];
    span.textContent = badge[1];
    span.title = badge[2];
    cell.append(span);
  }
}

async function refreshMarkets() {
  try {
    for (const market of await api("markets")) {
      const known = markets.get(market.symbol);
      if (!known) continue;
      Object.assign(known, market);
      applyStatus(known);
    }
  } catch {
    /* keep the last known status; the next poll tries again */
  }
}

function sortValue(row, key) {
  if (key === "symbol") return row.dataset.symbol;
  const cell = row.querySelector(`[data-field="${key}"]`);
  const value = cell ? cell.dataset.key : "";
  return value === "" ? null : Number(value);
}

function sortRows() {
  const rows = [...tbody.rows].filter((r) => r.dataset.symbol);
  rows.sort((a, b) => {
    const x = sortValue(a, sortKey), y = sortValue(b, sortKey);
    if (x === null && y === null) return 0;
    if (x === null) return 1; // markets without a value go last either way
    if (y === null) return -1;
    const order = typeof x === "string" ? x.localeCompare(y) : x - y;
    return sortDescending ? -order : order;
  });
  tbody.append(...rows);
}

for (const button of table.querySelectorAll("button.sort")) {
  button.addEventListener("click", () => {
    const key = button.dataset.sort;
    sortDescending = sortKey === key ? !sortDescending : key !== "symbol";
    sortKey = key;
    for (const th of table.tHead.querySelectorAll("th")) th.setAttribute("aria-sort", "none");
    button.closest("th").setAttribute("aria-sort", sortDescending ? "descending" : "ascending");
    sortRows();
  });
}

// Server-rendered numbers are plain decimals: format them like the live ones.
for (const market of markets.values()) {
  const row = rowOf(market.symbol);
  if (!row) continue;
  for (const [field, places] of [["last", market.price_places], ["high", market.price_places],
                                 ["low", market.price_places]]) {
    const cell = row.querySelector(`[data-field="${field}"]`);
    if (cell.dataset.key) cell.textContent = formatNumber(cell.dataset.key, places);
  }
}

if (realtime.available()) {
  for (const symbol of markets.keys()) realtime.subscribe(`ticker:${symbol}`, applyTicker);
  realtime.onReconnect(() => api("tickers").then((all) => all.forEach(applyTicker)).catch(() => {}));
  realtime.onStatus((status) => {
    const label = document.querySelector("[data-live-label]");
    if (label) label.textContent = status === "live" ? "Prices update live" : "Reconnecting…";
  });
} else {
  const label = document.querySelector("[data-live-label]");
  if (label) label.textContent = "Prices refresh every few seconds";
  setInterval(() => api("tickers").then((all) => all.forEach(applyTicker)).catch(() => {}),
              TICKER_POLL_MS);
}
setInterval(refreshMarkets, STATUS_POLL_MS);

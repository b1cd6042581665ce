// The trade page: wires the ticker header, chart, order book, recent trades, order form, my
// orders and balances together. Public data is live over /ws/; a logged-in page also gets its
// private channels (orders, fills, balances) through the session cookie.
import { api, pageData } from "../api.js";
import { confirmAction } from "../confirm.js";
import { changeClass, formatNumber, formatPercent, localiseTimes } from "../format.js";
import * as realtime from "../realtime.js";
import { createBook } from "./book.js";
import { createChart } from "./chart.js";
import { createDepth } from "./depth.js";
import { createOrderForm } from "./form.js";
import { createSwitcher } from "./switcher.js";
import { createMine } from "./mine.js";
import { createTrades } from "./trades.js";

const STATUS_POLL_MS = 10000;
const FALLBACK_POLL_MS = 3000;

const market = pageData("market-data");
const root = document.querySelector("[data-trade]");
const tickerEl = root.querySelector("[data-ticker]");
const balances = new Map();
let form = null;
let last = tickerEl.querySelector('[data-field="last"]').textContent.trim();
market.last = /\d/.test(last) ? last.replace(/,/g, "") : null;
const baseTitle = document.title;
createSwitcher(root.querySelector("[data-switcher]"));

function setField(name, text, className) {
  const element = tickerEl.querySelector(`[data-field="${name}"]`);
  if (!element) return;
  element.textContent = text;
  if (className !== undefined) {
    element.classList.remove("buy", "sell");
    if (className) element.classList.add(className);
  }
}

function setLast(price, direction) {
  if (!price) return;
  const previous = market.last;
  market.last = price;
  const element = tickerEl.querySelector('[data-field="last"]');
  element.textContent = formatNumber(price, market.price_places);
  const up = direction ? direction === "buy" : previous === null || Number(price) >= Number(previous);
  element.classList.remove("buy", "sell");
  element.classList.add(up ? "buy" : "sell");
  document.title = `${formatNumber(price, market.price_places)} · ${baseTitle}`;
  book.render();
  if (form) form.prefill();
}

// The rules panel's feed price (feed-priced markets): the ticker's last is the feed's newest
// observation there, so every ticker push moves it.
const feedPriceEl = document.querySelector('[data-field="feed_price"]');

function setFeedPrice(price, at) {
  if (!feedPriceEl || !price) return;
  const time = document.createElement("time");
  time.dataset.local = "time";
  time.dateTime = at || new Date().toISOString();
  feedPriceEl.querySelector("[data-feed-value]").replaceChildren(
    `${formatNumber(price, market.price_places)} ${market.quote} at `, time);
  localiseTimes(feedPriceEl);
}

function applyTicker(ticker) {
  setLast(ticker.last);
  if (market.price_source !== "book") setFeedPrice(ticker.last, ticker.ts);
  setField("change_24h_pct", formatPercent(ticker.change_24h_pct), changeClass(ticker.change_24h_pct));
  setField("high_24h", formatNumber(ticker.high_24h, market.price_places));
  setField("low_24h", formatNumber(ticker.low_24h, market.price_places));
  setField("volume_24h", formatNumber(ticker.volume_24h, market.quantity_places));
  setField("quote_volume_24h", formatNumber(ticker.quote_volume_24h, market.quote_decimals));
}

// --- market status (halted / cancel-only / stale feed) -------------------------------------

function applyMarket(next) {
  Object.assign(market, next);
  const age = market.feed_age_ms;
  market.feed_stale = market.price_source !== "book"
    && (age === null || age === undefined || age > market.feed_stale_after_ms);
  const badge = root.querySelector("[data-market-badge]");
  const alert = document.querySelector("[data-market-alert]");
  let label = null, kind = null, text = "";
  if (market.status === "halted") {
    [label, kind] = ["Halted", "halted"];
    text = "Trading is halted in this market: no new orders are accepted. Open orders can still be cancelled.";
  } else if (market.status === "cancel_only") {
    [label, kind] = ["Cancel only", "cancel-only"];
    text = "This market accepts cancels only right now: no new orders.";
  } else if (market.feed_stale) {
    [label, kind] = ["Stale feed", "stale"];
    text = "The price feed is stale: market orders are paused until a fresh price arrives. Limit orders still work.";
  }
  badge.replaceChildren();
  if (label) {
    const span = document.createElement("span");
    span.className = `badge-status ${kind}`;
    span.textContent = label;
    badge.append(span);
  }
  alert.textContent = text;
  alert.hidden = !text;
  if (feedPriceEl) feedPriceEl.querySelector("[data-feed-stale]").hidden = !market.feed_stale;
  if (form) form.setMarket({});
}

async function refreshMarket() {
  try {
    applyMarket(await api(`markets/${market.symbol}`));
  } catch {
    /* keep the last known status */
  }
}

// --- widgets --------------------------------------------------------------------------------

const book = createBook(root.querySelector("[data-book]"), market, {
  onPick: (price) => form && form.setPrice(price),
  lastPrice: () => market.last,
});
book.onChange(() => {
  if (!form) return;
  form.refresh();
  form.prefill();
});
const chart = createChart(root.querySelector(".chart-card"), market);
const depth = createDepth(root.querySelector("[data-depth]"), market, book);

// Price (candles) or depth: one of the two fills the chart card.
const viewButtons = [...root.querySelectorAll("[data-view]")];
function showView(view) {
  for (const button of viewButtons) button.setAttribute("aria-pressed", String(button.dataset.view === view));
  const price = view === "price";
  root.querySelector("[data-chart]").hidden = !price;
  root.querySelector("[data-intervals]").hidden = !price;
  root.querySelector("[data-indicators]").hidden = !price;
  root.querySelector("[data-history-note]").hidden = !price;
  root.querySelector("[data-depth]").hidden = price;
  if (!price) depth.draw();
}
for (const button of viewButtons) button.addEventListener("click", () => showView(button.dataset.view));
const trades = createTrades(root.querySelector("[data-trades]"), market,
                            pageData("trades-data") || [],
                            { onTrade: (trade) => setLast(trade.price, trade.taker_side) });

for (const name of ["high_24h", "low_24h"]) {
  const element = tickerEl.querySelector(`[data-field="${name}"]`);
  if (/\d/.test(element.textContent)) element.textContent = formatNumber(element.textContent.trim(), market.price_places);
}
if (market.last) setLast(market.last);
for (const [name, places] of [["volume_24h", market.quantity_places], ["quote_volume_24h", market.quote_decimals]]) {
  const element = tickerEl.querySelector(`[data-field="${name}"]`);
  if (/\d/.test(element.textContent)) element.textContent = formatNumber(element.textContent.trim(), places);
}

const formElement = root.querySelector("[data-order-form]");
let mine = null;

async function refreshBalances() {
  try {
    applyBalances(await api("wallet/balances"));
  } catch {
    /* the next push or poll brings them */
  }
}

function applyBalances(rows) {
  for (const row of rows) balances.set(row.asset, row);
  if (form) form.refresh();
}

if (formElement) {
  form = createOrderForm(formElement, market, {
    balances, book,
    onPlaced: (order) => {
      if (mine) mine.upsert([order]);
      refreshBalances();
    },
  });
  form.init();
  mine = createMine(root.querySelector("[data-mine]"), market, {
    onChange: refreshBalances,
    onResting: book.setMine,
    confirmCancelAll: (open) => confirmAction({
      title: `Cancel all ${open.length} open order${open.length === 1 ? "" : "s"}?`,
      text: `Every open order of yours in ${market.symbol} is cancelled and its funds released. `
        + "Stop and take-profit orders waiting for their price are cancelled too.",
      yes: "Cancel all orders",
      no: "Keep them",
      danger: true,
    }),
  });
  realtime.subscribe("orders", form.orderChanged);
  realtime.subscribe("balances", applyBalances);
  realtime.onReconnect(refreshBalances);
  refreshBalances();
}

realtime.subscribe(`ticker:${market.symbol}`, applyTicker);
applyMarket({});
setInterval(refreshMarket, STATUS_POLL_MS);

if (realtime.available()) {
  realtime.onStatus((status) => {
    root.querySelector("[data-live-label]").textContent = status === "live" ? "live" : "reconnecting…";
  });
} else {
  // Served without websockets (a plain WSGI server): poll what would have been pushed.
  root.querySelector("[data-live-label]").textContent = "refreshing";
  setInterval(() => {
    book.refresh();
    trades.refresh();
    api(`markets/${market.symbol}/ticker`).then(applyTicker).catch(() => {});
    if (mine) mine.refresh();
    if (formElement) refreshBalances();
  }, FALLBACK_POLL_MS);
  if (chart) setInterval(chart.reload, 30000);
}
localiseTimes(root);
root.dataset.ready = "1"; // every widget is wired (tests wait for it)

// My open orders (cancel, cancel all), order history and fills in this market: REST first,
// then the private "orders" and "fills" channels keep them current.
import { api } from "../api.js";
import { formatNumber, timeElement } from "../format.js";
import { OPEN, TYPE_NAMES, orderWords, statusText } from "../orders.js";
import * as realtime from "../realtime.js";

const KEEP = 100;

function cell(text, className = "") {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (text instanceof Node) td.append(text);
  else td.textContent = text;
  return td;
}

function emptyRow(columns, text) {
  const row = document.createElement("tr");
  row.className = "empty";
  row.append(cell(text, "muted"));
  row.firstChild.colSpan = columns;
  return row;
}

// Statuses whose order sits in the book (a pending one is about to).
const RESTING = new Set(["pending", "open", "partially_filled"]);

export function createMine(section, market, { onChange, onResting = () => {}, confirmCancelAll }) {
  const openBody = section.querySelector("[data-open-orders]");
  const historyBody = section.querySelector("[data-order-history]");
  const fillsBody = section.querySelector("[data-fills]");
  const openCount = section.querySelector("[data-open-count]");
  const cancelAll = section.querySelector("[data-cancel-all]");
  const errorBox = section.querySelector("[data-mine-error]");
  const orders = new Map();
  const fills = new Map();

  const price = (v) => formatNumber(v, market.price_places);
  const qty = (v) => formatNumber(v, market.quantity_places);

  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  }

  function priceText(order) {
    const parts = [];
    if (order.stop_price) parts.push(`stop ${price(order.stop_price)}`);
    parts.push(order.price ? price(order.price) : "market");
    return parts.join(" → ");
  }

  function amountText(order) {
    if (order.quantity) return qty(order.quantity);
    return `${formatNumber(order.quote_amount, market.quote_decimals)} ${market.quote}`;
  }

  function renderOrders() {
    const all = [...orders.values()].sort((a, b) => b.id - a.id);
    const open = all.filter((o) => OPEN.has(o.status));
    const closed = all.filter((o) => !OPEN.has(o.status)).slice(0, KEEP);
    openBody.replaceChildren(...(open.length ? open.map((order) => {
      const row = document.createElement("tr");
      row.dataset.orderId = order.id;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = "Cancel";
      button.setAttribute("aria-label", `Cancel: ${orderWords(order, market)}`);
      button.addEventListener("click", () => cancel(order.id, button));
      row.append(cell(timeElement(order.created_at, true), "muted"),
                 cell(order.side, order.side), cell(TYPE_NAMES[order.type] || order.type),
                 cell(priceText(order), "num"), cell(amountText(order), "num"),
                 cell(qty(order.filled_quantity), "num"), cell(statusText(order)), cell(button, "actions"));
      return row;
    }) : [emptyRow(8, "No open orders.")]));
    historyBody.replaceChildren(...(closed.length ? closed.map((order) => {
      const row = document.createElement("tr");
      row.dataset.orderId = order.id;
      row.append(cell(timeElement(order.created_at, true), "muted"),
                 cell(order.side, order.side), cell(TYPE_NAMES[order.type] || order.type),
                 cell(priceText(order), "num"),
                 cell(order.average_price ? formatNumber(order.average_price, market.price_places + 2) : "—", "num"),
                 cell(`${qty(order.filled_quantity)} / ${amountText(order)}`, "num"),
                 cell(statusText(order)));
      return row;
    }) : [emptyRow(7, "No past orders.")]));
    openCount.textContent = String(open.length);
    cancelAll.disabled = open.length === 0;
    onResting(open.filter((o) => RESTING.has(o.status) && o.price));
  }

  function renderFills() {
    const all = [...fills.values()].sort((a, b) => b.id - a.id).slice(0, KEEP);
    fillsBody.replaceChildren(...(all.length ? all.map((fill) => {
      const row = document.createElement("tr");
      row.append(cell(timeElement(fill.created_at, true), "muted"), cell(fill.side, fill.side),
                 cell(price(fill.price), "num"), cell(qty(fill.quantity), "num"),
                 cell(formatNumber(fill.quote_quantity, market.quote_decimals), "num"),
                 cell(`${formatNumber(fill.fee, market.quote_decimals)} ${fill.fee_asset}`, "num"),
                 cell(fill.liquidity));
      return row;
    }) : [emptyRow(7, "No fills yet.")]));
  }

  /** Keep the newest state of each order (a push may overtake the POST's answer). */
  function upsert(list) {
    let changed = false;
    for (const order of list) {
      if (order.symbol !== market.symbol) continue;
      const known = orders.get(order.id);
      if (known && known.updated_at > order.updated_at) continue;
      if (known && !OPEN.has(known.status) && OPEN.has(order.status)) continue;
      orders.set(order.id, order);
      changed = true;
    }
    if (changed) {
      renderOrders();
      onChange();
    }
  }

  function addFills(list) {
    let changed = false;
    for (const fill of list) {
      if (fill.symbol !== market.symbol || fills.has(fill.id)) continue;
      fills.set(fill.id, fill);
      changed = true;
    }
    if (changed) renderFills();
  }

  async function cancel(orderId, button) {
    showError("");
    button.disabled = true;
    try {
      upsert([await api(`orders/${orderId}`, { method: "DELETE" })]);
    } catch (error) {
      showError(error.message);
      button.disabled = false;
    }
  }

  cancelAll.addEventListener("click", async () => {
    showError("");
    const open = [...orders.values()].filter((o) => OPEN.has(o.status));
    if (!open.length || !(await confirmCancelAll(open))) return;
    cancelAll.disabled = true;
    try {
      upsert(await api("orders", { method: "DELETE", query: { symbol: market.symbol } }));
    } catch (error) {
      showError(error.message);
    }
    renderOrders();
  });

  // Tabs: arrow keys move between them (WAI-ARIA tabs pattern).
  const tabs = [...section.querySelectorAll('[role="tab"]')];
  function select(tab) {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.getAttribute("aria-controls")).hidden = !selected;
    }
  }
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      select(next);
      next.focus();
    });
  });

  async function refresh() {
    try {
      const [open, closed, recent] = await Promise.all([
        api("orders", { query: { symbol: market.symbol, status: "open", limit: 200 } }),
        api("orders", { query: { symbol: market.symbol, status: "closed", limit: KEEP } }),
        api("fills", { query: { symbol: market.symbol, limit: KEEP } }),
      ]);
      upsert([...open.results, ...closed.results]);
      addFills(recent.results);
      renderOrders();
      renderFills();
    } catch (error) {
      showError(`Your orders could not be loaded: ${error.message}`);
    }
  }

  realtime.subscribe("orders", upsert);
  realtime.subscribe("fills", addFills);
  realtime.onReconnect(refresh);
  refresh();
  return { upsert, refresh };
}

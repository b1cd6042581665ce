// Recent trades: the page's first 50 (embedded), then "trades:SYM" pushes, newest on top.
import { api } from "../api.js";
import { formatNumber, timeElement } from "../format.js";
import * as realtime from "../realtime.js";

const KEEP = 50;

export function createTrades(tbody, market, initial, { onTrade }) {
  let trades = initial.slice(0, KEEP);
  const seen = new Set(trades.map((t) => t.id));

  function render() {
    const rows = trades.map((trade) => {
      const row = document.createElement("tr");
      const price = document.createElement("td");
      price.className = `num ${trade.taker_side}`;
      price.textContent = formatNumber(trade.price, market.price_places);
      const qty = document.createElement("td");
      qty.className = "num";
      qty.textContent = formatNumber(trade.quantity, market.quantity_places);
      const time = document.createElement("td");
      time.className = "num muted";
      time.append(timeElement(trade.created_at));
      row.append(price, qty, time);
      if (trade.fresh) row.classList.add(trade.taker_side === "buy" ? "flash-up" : "flash-down");
      return row;
    });
    if (!rows.length) {
      const row = document.createElement("tr");
      row.className = "empty";
      row.innerHTML = '<td colspan="3" class="muted">No trades yet.</td>';
      rows.push(row);
    }
    tbody.replaceChildren(...rows);
    for (const trade of trades) trade.fresh = false;
  }

  function add(batch) {
    const fresh = batch.filter((t) => !seen.has(t.id));
    if (!fresh.length) return;
    for (const trade of fresh) {
      seen.add(trade.id);
      trade.fresh = true;
    }
    // A batch comes in engine order (oldest first): the newest goes on top.
    trades = [...fresh.reverse(), ...trades].slice(0, KEEP);
    render();
    onTrade(trades[0]);
  }

  async function refresh() {
    try {
      add(await api(`markets/${market.symbol}/trades`, { query: { limit: KEEP } }).then((rows) => rows.reverse()));
    } catch {
      /* keep what is shown */
    }
  }

  render();
  realtime.subscribe(`trades:${market.symbol}`, add);
  realtime.onReconnect(refresh);
  return { refresh, latest: () => trades[0] || null };
}

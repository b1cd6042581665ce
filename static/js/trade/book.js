// The order book from the "depth:SYM" channel: a snapshot, then updates whose prev_sequence
// must equal the book's sequence (a gap means resubscribe for a new snapshot). Levels show
// cumulative depth bars and a mark where the user's own orders rest; selecting a level hands
// its price to the order form. A feed-priced market also shows the house's quote (the snapshot's
// "house", then {type: "house"} messages as the feed moves): a "House" row on each side next to
// the spread, what market orders fill at.
import { api } from "../api.js";
import { compare, isZero, subtract, trimZeros } from "../decimal.js";
import { formatNumber } from "../format.js";
import * as realtime from "../realtime.js";

const LEVELS = 12;

export function createBook(section, market, { onPick, lastPrice }) {
  const asksEl = section.querySelector("[data-asks]");
  const bidsEl = section.querySelector("[data-bids]");
  const spreadLast = section.querySelector("[data-spread-last]");
  const spreadText = section.querySelector("[data-spread-text]");
  const channel = `depth:${market.symbol}`;
  const bids = new Map();
  const asks = new Map();
  let sequence = null;
  const listeners = new Set();
  // Prices (trailing zeros trimmed) where the user's own orders rest, per side.
  let mine = { buy: new Set(), sell: new Set() };
  // The house's quote ({price, bid_quantity, ask_quantity, observed_at}) or null.
  let house = null;

  function pool(element, side) {
    const rows = [];
    for (let i = 0; i < LEVELS; i++) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `level ${side}`;
      button.hidden = true;
      // The level's name is its own text, the numbers as seen plus words for a screen reader
      // ("Sell 1,010 KRW, amount 10 LPJ. Use this price"), so what is read contains what is
      // shown (WCAG 2.5.3); the running total and the marks are for the eye only.
      button.innerHTML = '<span class="depth-bar" aria-hidden="true"></span>'
        + '<span class="price num"><span class="mark" aria-hidden="true"></span>'
        + '<span class="sr-only" data-words="side"></span><span data-value></span>'
        + '<span class="sr-only" data-words="quote"></span></span>'
        + '<span class="qty num"><span data-value></span><span class="sr-only" data-words="base">'
        + '</span></span><span class="cum num" aria-hidden="true"></span>';
      button.querySelector('[data-words="side"]').textContent = `${side === "sell" ? "Sell" : "Buy"} `;
      button.querySelector('[data-words="quote"]').textContent = ` ${market.quote}, amount`;
      button.addEventListener("click", () => onPick(button.dataset.price));
      element.append(button);
      rows.push(button);
    }
    return rows;
  }
  const askRows = pool(asksEl, "sell");
  const bidRows = pool(bidsEl, "buy");

  function houseRow(side) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `level ${side} house`;
    button.hidden = true;
    button.dataset.house = side;
    button.title = "The house fills market orders at the feed price";
    button.innerHTML = '<span class="depth-bar" aria-hidden="true"></span>'
      + '<span class="price num"></span><span class="qty num"></span>'
      + '<span class="house-tag">House</span>';
    button.addEventListener("click", () => onPick(button.dataset.price));
    return button;
  }
  // Next to the spread: below the asks (drawn worst first), above the bids.
  const houseAsk = houseRow("sell");
  const houseBid = houseRow("buy");
  asksEl.append(houseAsk);
  bidsEl.prepend(houseBid);

  function fillHouse(row, quantity, verb) {
    row.hidden = !house || isZero(quantity);
    if (row.hidden) return;
    row.dataset.price = house.price;
    const price = formatNumber(house.price, market.price_places);
    const qty = formatNumber(quantity, market.quantity_places);
    row.querySelector(".price").textContent = price;
    row.querySelector(".qty").textContent = qty;
    row.setAttribute("aria-label", `House ${verb} up to ${qty} ${market.base} at ${price} `
      + `${market.quote}, the feed price; use this price`);
  }

  function sorted(map, descending) {
    const levels = [...map.entries()];
    levels.sort((a, b) => (descending ? -1 : 1) * compare(a[0], b[0]));
    return levels.slice(0, LEVELS);
  }

  function fill(rows, levels, maxTotal, own) {
    let total = 0;
    const cumulative = levels.map(([, qty]) => (total += Number(qty)));
    rows.forEach((row, i) => {
      const level = levels[i];
      row.hidden = !level;
      if (!level) return;
      const [price, qty] = level;
      row.dataset.price = price;
      row.querySelector(".price [data-value]").textContent =
        formatNumber(price, market.price_places);
      row.querySelector(".qty [data-value]").textContent = formatNumber(qty, market.quantity_places);
      row.querySelector(".cum").textContent =
        formatNumber(cumulative[i].toFixed(market.quantity_places), market.quantity_places);
      row.querySelector(".depth-bar").style.width =
        `${maxTotal ? (cumulative[i] / maxTotal) * 100 : 0}%`;
      const yours = own.has(trimZeros(price));
      row.classList.toggle("mine", yours);
      row.title = yours ? "Your order rests at this price" : "";
      row.querySelector('[data-words="base"]').textContent =
        ` ${market.base}${yours ? ", including your order" : ""}. Use this price`;
    });
  }

  // The best prices a new order meets: the users' book, or the house's quote where better
  // (or where a side of the book is empty).
  function best() {
    let bestBid = sorted(bids, true)[0]?.[0] ?? null;
    let bestAsk = sorted(asks, false)[0]?.[0] ?? null;
    if (house && !isZero(house.bid_quantity) && (bestBid === null || compare(house.price, bestBid) > 0)) {
      bestBid = house.price;
    }
    if (house && !isZero(house.ask_quantity) && (bestAsk === null || compare(house.price, bestAsk) < 0)) {
      bestAsk = house.price;
    }
    return { bestBid, bestAsk };
  }

  function render() {
    const topAsks = sorted(asks, false);
    const topBids = sorted(bids, true);
    const sum = (levels) => levels.reduce((s, [, q]) => s + Number(q), 0);
    const maxTotal = Math.max(sum(topAsks), sum(topBids));
    // Asks are drawn worst first so the best ask sits next to the spread.
    fill(askRows.slice().reverse(), topAsks, maxTotal, mine.sell);
    fill(bidRows, topBids, maxTotal, mine.buy);
    fillHouse(houseAsk, house?.ask_quantity, "sells");
    fillHouse(houseBid, house?.bid_quantity, "buys");
    const bookAsk = topAsks.length ? topAsks[0][0] : null;
    const bookBid = topBids.length ? topBids[0][0] : null;
    const last = lastPrice();
    spreadLast.textContent = formatNumber(last, market.price_places);
    if (house) {
      // The house buys and sells at the one feed price: no spread to speak of.
      spreadText.textContent = "House quotes the feed price";
    } else if (bookAsk && bookBid) {
      const spread = subtract(bookAsk, bookBid);
      const pct = (Number(spread) / ((Number(bookAsk) + Number(bookBid)) / 2)) * 100;
      spreadText.textContent = `Spread ${formatNumber(spread, market.price_places)} (${pct.toFixed(3)}%)`;
    } else {
      spreadText.textContent = bookAsk || bookBid ? "One side is empty" : "The book is empty";
    }
    for (const listener of listeners) listener(best());
  }

  function applyLevels(map, levels) {
    for (const [price, qty] of levels) {
      if (isZero(qty)) map.delete(price);
      else map.set(price, qty);
    }
  }

  function applySnapshot(book) {
    // A snapshot re-sent after an engine rebuild has no "house": the last one stands.
    if ("house" in book) house = book.house;
    bids.clear();
    asks.clear();
    applyLevels(bids, book.bids);
    applyLevels(asks, book.asks);
    sequence = book.sequence;
    render();
  }

  function onDepth(data) {
    if (data.type === "house") {
      house = data.house;
      render();
      return;
    }
    if (data.type === "snapshot" || data.type === undefined) {
      applySnapshot(data);
      return;
    }
    if (sequence === null || data.sequence <= sequence) return;
    if (data.prev_sequence !== sequence) {
      sequence = null;
      realtime.resubscribe(channel);
      return;
    }
    applyLevels(bids, data.bids);
    applyLevels(asks, data.asks);
    sequence = data.sequence;
    render();
  }

  async function refresh() {
    try {
      applySnapshot(await api(`markets/${market.symbol}/depth`, { query: { limit: 50 } }));
    } catch {
      /* the websocket snapshot (or the next poll) fills the book */
    }
  }

  if (realtime.available()) {
    realtime.subscribe(channel, onDepth);
  } else {
    refresh();
  }
  render();

  return {
    refresh,
    render,
    best,
    onChange: (listener) => listeners.add(listener),
    /** Every level of the book, best first: { bids: [[price, qty]], asks: [[price, qty]] }. */
    levels: () => ({
      bids: [...bids.entries()].sort((a, b) => compare(b[0], a[0])),
      asks: [...asks.entries()].sort((a, b) => compare(a[0], b[0])),
    }),
    /** Mark the levels of the user's resting orders ({side, price} each). */
    setMine(orders) {
      mine = { buy: new Set(), sell: new Set() };
      for (const order of orders) if (order.price) mine[order.side].add(trimZeros(order.price));
      render();
    },
  };
}

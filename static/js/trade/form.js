// The order form: buy/sell, limit / market (by quantity or by amount to spend) / stop-limit /
// stop-market / take-profit limit / take-profit market, time in force and post-only, the
// available balance, 25-100% shortcuts, the estimated total and fee, the API's errors shown
// next to their fields, and what became of the order placed last (filled, resting, partly
// filled, cancelled by its terms or rejected, and why) as the exchange reports it.
import { api } from "../api.js";
import { add, compare, divide, floorToStep, isDecimal, isZero, multiply, round, subtract, trimZeros, typedDecimal } from "../decimal.js";
import { formatNumber } from "../format.js";
import { confirmAction } from "../confirm.js";
import { outcome } from "../orders.js";

const FIELDS = ["stop_price", "price", "quantity", "quote_amount", "time_in_force", "post_only"];
// Market buys by quantity hold a protective price 5% above the book (ORDER_MARKET_PROTECTION).
const MARKET_PROTECTION = "1.05";
// Types that take a limit price; the others are market types. Trigger types wait for their stop
// price: a stop when the price moves against the side, a take-profit when it moves for it.
const PRICED = new Set(["limit", "stop_limit", "take_profit_limit"]);
const STOPS = new Set(["stop_limit", "stop_market"]);
const TAKE_PROFITS = new Set(["take_profit_limit", "take_profit_market"]);
// A market type's limit form (what a stale feed falls back to).
const LIMIT_FORM = { market: "limit", stop_market: "stop_limit", take_profit_market: "take_profit_limit" };

/** When a trigger order of this side and type triggers. */
function stopHelp(side, type) {
  const rises = (side === "buy") === STOPS.has(type);
  return `Triggers when the last price ${rises ? "rises" : "falls"} to it.`;
}

function randomId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return "web-" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// A limit price further than this from the last price (percent) is asked about first.
const FAR_FROM_LAST_PCT = "10";
// How long to ask the REST API for the placed order's state while no push has brought it.
const OUTCOME_POLL_MS = 1000;
const OUTCOME_POLL_FOR_MS = 20000;

export function createOrderForm(form, market, { balances, book, onPlaced }) {
  const $ = (selector) => form.querySelector(selector);
  const input = (name) => form.elements.namedItem(name);
  const sideTabs = [...form.querySelectorAll("[data-side]")];
  const controls = $("[data-controls]");
  const submit = $("[data-submit]");
  const formError = $("[data-form-error]");
  const outcomeBox = $("[data-outcome]");
  const reason = $("[data-disabled-reason]");
  const panel = $('[role="tabpanel"]');
  let side = "buy";
  let submitting = false;
  let watched = null; // the order placed last: { id, updated_at, status }
  let pollTimer = null;
  let priceChosen = false; // the user typed or picked a price: never prefill over it

  const state = () => ({
    side,
    type: input("type").value,
    buyBy: form.querySelector('input[name="buy_by"]:checked').value,
    tif: input("time_in_force").value,
  });

  function shown(s) {
    const stop = STOPS.has(s.type) || TAKE_PROFITS.has(s.type);
    const priced = PRICED.has(s.type);
    const byAmount = !priced && s.side === "buy" && s.buyBy === "amount";
    return {
      "buy-by": !priced && s.side === "buy",
      stop_price: stop,
      price: priced,
      quantity: !byAmount,
      quote_amount: byAmount,
      tif: priced,
      post_only: s.type === "limit" && s.tif === "GTC",
    };
  }

  function layout() {
    const s = state();
    const visible = shown(s);
    for (const element of form.querySelectorAll("[data-show]")) {
      element.hidden = !visible[element.dataset.show];
    }
    if (!visible.post_only) input("post_only").checked = false;
    if (visible.stop_price) $("[data-stop-help]").textContent = stopHelp(side, s.type);
    submit.className = `submit ${side}`;
    submit.textContent = `${side === "buy" ? "Buy" : "Sell"} ${market.base}`;
    estimate();
    prefill();
  }

  function setSide(next, focus = false) {
    side = next;
    for (const tab of sideTabs) {
      const selected = tab.dataset.side === side;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected) {
        panel.setAttribute("aria-labelledby", tab.id);
        if (focus) tab.focus();
      }
    }
    clearErrors();
    layout();
  }

  sideTabs.forEach((tab) => {
    tab.addEventListener("click", () => setSide(tab.dataset.side));
    tab.addEventListener("keydown", (event) => {
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        setSide(side === "buy" ? "sell" : "buy", true);
      }
    });
  });

  // --- balances and estimates --------------------------------------------------------------

  function available() {
    const asset = side === "buy" ? market.quote : market.base;
    const row = balances.get(asset);
    return { asset, amount: row ? row.available : null,
             places: side === "buy" ? market.quote_decimals : market.base_decimals };
  }

  function value(name) {
    const text = typedDecimal(input(name).value);
    return isDecimal(text) && !isZero(text) ? text : null;
  }

  /** The price an order is valued at: its limit, else the book's other side (or the stop). */
  function referencePrice(s) {
    if (PRICED.has(s.type)) return value("price");
    if (s.type !== "market" && value("stop_price")) return value("stop_price");
    const { bestBid, bestAsk } = book.best();
    return (s.side === "buy" ? bestAsk : bestBid) || market.last || null;
  }

  function feeRate(s) {
    return s.type === "limit" && input("post_only").checked ? market.maker_fee : market.taker_fee;
  }

  function estimate() {
    const s = state();
    const have = available();
    $("[data-available]").textContent = have.amount === null ? "—"
      : `${formatNumber(have.amount, have.places)} ${have.asset}`;
    const visible = shown(s);
    let total = null;
    if (visible.quote_amount) {
      total = value("quote_amount");
    } else {
      const qty = value("quantity");
      const ref = referencePrice(s);
      if (qty && ref) total = multiply(ref, qty);
    }
    const approx = !PRICED.has(s.type) && !visible.quote_amount ? "≈ " : "";
    const rate = feeRate(s);
    const places = market.quote_decimals;
    const feePct = trimZeros(multiply(rate, "100"));
    $("[data-fee-label]").textContent = `Fee (${feePct}%${s.type === "limit" && !input("post_only").checked ? " max" : ""})`;
    $("[data-net-label]").textContent = side === "buy" ? "You pay" : "You receive";
    if (total === null) {
      for (const key of ["total", "fee", "net"]) $(`[data-${key}]`).textContent = "—";
      return;
    }
    const fee = round(multiply(total, rate), places, "down");
    const net = side === "buy" ? add(total, fee) : subtract(total, fee);
    $("[data-total]").textContent = `${approx}${formatNumber(round(total, places, "half"), places)} ${market.quote}`;
    $("[data-fee]").textContent = `${approx}${formatNumber(fee, places)} ${market.quote}`;
    $("[data-net]").textContent = `${approx}${formatNumber(round(net, places, "half"), places)} ${market.quote}`;
  }

  function applyPercent(pct) {
    clearErrors();
    const s = state();
    const have = available();
    if (!have.amount) return;
    const share = round(multiply(have.amount, String(pct / 100)), have.places, "down");
    const visible = shown(s);
    if (side === "sell") {
      input("quantity").value = floorToStep(share, market.lot_size);
    } else if (visible.quote_amount) {
      // Spend so much that amount + taker fee fits in the share.
      const spend = divide(share, add("1", market.taker_fee), market.quote_decimals);
      input("quote_amount").value = spend;
    } else {
      let ref = referencePrice(s);
      if (!ref) {
        showFormError("Enter a price first (or wait for the book) to size the order.");
        return;
      }
      if (!PRICED.has(s.type)) ref = multiply(ref, MARKET_PROTECTION);
      // A buy holds price x quantity x (1 + the larger of the two fees).
      const maxFee = compare(market.maker_fee, market.taker_fee) > 0 ? market.maker_fee : market.taker_fee;
      const perUnit = multiply(ref, add("1", maxFee));
      const qty = divide(share, perUnit, market.quantity_places + 2);
      input("quantity").value = qty === null ? "" : floorToStep(qty, market.lot_size);
    }
    for (const name of ["quantity", "quote_amount"]) {
      const element = input(name);
      if (element.value && isZero(element.value)) element.value = "";
    }
    estimate();
  }

  for (const button of form.querySelectorAll("[data-pct]")) {
    button.addEventListener("click", () => applyPercent(Number(button.dataset.pct)));
  }

  // --- errors --------------------------------------------------------------------------------

  function clearErrors() {
    for (const name of FIELDS) {
      const box = form.querySelector(`[data-error-for="${name}"]`);
      if (box) box.textContent = "";
      input(name)?.removeAttribute("aria-invalid");
    }
    formError.hidden = true;
    formError.textContent = "";
  }

  function showFormError(message) {
    formError.textContent = message;
    formError.hidden = false;
  }

  function showErrors(error) {
    const s = shown(state());
    let placed = false;
    let first = null;
    for (const [name, messages] of Object.entries(error.fields || {})) {
      const box = form.querySelector(`[data-error-for="${name}"]`);
      const visible = name === "time_in_force" ? s.tif : s[name];
      if (!box || !visible) continue;
      box.textContent = messages.join(" ");
      input(name).setAttribute("aria-invalid", "true");
      first = first || input(name);
      placed = true;
    }
    if (!placed) showFormError(error.message);
    if (first) first.focus();
  }

  // --- the outcome of the order placed last -------------------------------------------------

  function showOutcome(order) {
    if (!order) {
      outcomeBox.textContent = "";
      outcomeBox.dataset.tone = "";
      delete outcomeBox.dataset.orderId;
      delete outcomeBox.dataset.status;
      return;
    }
    const { tone, text } = outcome(order, market);
    outcomeBox.textContent = text;
    outcomeBox.dataset.tone = tone;
    outcomeBox.dataset.orderId = String(order.id);
    outcomeBox.dataset.status = order.status;
  }

  function stopPolling() {
    clearTimeout(pollTimer);
    pollTimer = null;
  }

  /** Show ``order`` if it is the one placed last and newer than what is shown. */
  function update(order) {
    if (!watched || order.id !== watched.id || order.updated_at < watched.updated_at) return;
    // A push can overtake the POST's answer: never go back from a later state to "pending".
    if (order.status === "pending" && watched.status !== "pending") return;
    watched = { id: order.id, updated_at: order.updated_at, status: order.status };
    showOutcome(order);
    if (outcome(order, market).final) stopPolling();
  }

  function watch(placed) {
    stopPolling();
    watched = { id: placed.id, updated_at: placed.updated_at, status: placed.status };
    showOutcome(placed);
    const until = Date.now() + OUTCOME_POLL_FOR_MS;
    // Pushes on the private "orders" channel normally bring the outcome first; asking the API
    // covers a page without a live socket.
    const poll = async () => {
      pollTimer = null;
      if (!watched || watched.id !== placed.id || Date.now() > until) return;
      try {
        update(await api(`orders/${placed.id}`));
      } catch {
        /* the next poll or push brings it */
      }
      if (watched.status === "pending" && !pollTimer) pollTimer = setTimeout(poll, OUTCOME_POLL_MS);
    };
    pollTimer = setTimeout(poll, OUTCOME_POLL_MS);
  }

  // --- submit --------------------------------------------------------------------------------

  function body() {
    const s = state();
    const visible = shown(s);
    const order = { symbol: market.symbol, side, type: s.type, client_order_id: randomId() };
    const problems = {};
    for (const name of ["stop_price", "price", "quantity", "quote_amount"]) {
      if (!visible[name]) continue;
      const text = typedDecimal(input(name).value);
      if (!text) problems[name] = ["Required."];
      else if (!isDecimal(text)) problems[name] = ["Enter a positive number, such as 0.5 or 1,000."];
      else order[name] = text;
    }
    if (visible.tif) order.time_in_force = s.tif;
    if (visible.post_only && input("post_only").checked) order.post_only = true;
    return { order, problems };
  }

  /** How far ``price`` is from the last price, in percent (one decimal), or null. */
  function distanceFromLast(price) {
    if (!price || !market.last || isZero(market.last)) return null;
    return divide(multiply(subtract(price, market.last), "100"), market.last, 1);
  }

  /** Ask before a limit price more than FAR_FROM_LAST_PCT from the last price. */
  async function farPriceConfirmed(order) {
    const pct = distanceFromLast(order.price);
    if (pct === null) return true;
    const above = !pct.startsWith("-");
    const size = above ? pct : pct.slice(1);
    if (compare(size, FAR_FROM_LAST_PCT) <= 0) return true;
    const price = `${formatNumber(order.price, market.price_places)} ${market.quote}`;
    const last = `${formatNumber(market.last, market.price_places)} ${market.quote}`;
    const takes = (order.side === "buy") === above;
    return confirmAction({
      title: "Far from the market price",
      text: `Your ${order.side} price ${price} is ${trimZeros(size)}% ${above ? "above" : "below"} `
        + `the last price ${last}. `
        + (takes ? `It may ${order.side === "buy" ? "buy" : "sell"} at once at prices up to yours.`
          : "It will wait in the book until the price gets there."),
      yes: `Place ${order.side} at ${price}`,
      no: "Change the price",
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submitting || controls.disabled) return;
    clearErrors();
    showOutcome(null);
    const { order, problems } = body();
    if (Object.keys(problems).length) {
      showErrors({ fields: problems, message: "Check the highlighted fields." });
      return;
    }
    submitting = true;
    submit.disabled = true;
    try {
      if (!(await farPriceConfirmed(order))) {
        input("price").focus();
        return;
      }
      const placed = await api("orders", { method: "POST", body: order });
      watch(placed);
      input("quantity").value = "";
      input("quote_amount").value = "";
      estimate();
      onPlaced(placed);
    } catch (error) {
      showErrors(error);
    } finally {
      submitting = false;
      submit.disabled = false;
    }
  });

  form.addEventListener("input", (event) => {
    const name = event.target.name;
    if (name === "price" && event.isTrusted) priceChosen = true;
    if (FIELDS.includes(name)) {
      const box = form.querySelector(`[data-error-for="${name}"]`);
      if (box) box.textContent = "";
      event.target.removeAttribute("aria-invalid");
    }
    estimate();
  });
  form.addEventListener("change", layout);

  // --- market status -------------------------------------------------------------------------

  function setMarket(next) {
    Object.assign(market, next);
    const marketTypes = [...input("type").options].filter((o) => o.value.endsWith("market"));
    let why = "";
    if (market.status === "halted") {
      why = "Trading is halted in this market: new orders are not accepted. You can still cancel open orders.";
    } else if (market.status === "cancel_only") {
      why = "This market accepts cancels only right now: new orders are not accepted.";
    }
    controls.disabled = Boolean(why);
    reason.textContent = why;
    reason.hidden = !why;
    for (const option of marketTypes) option.disabled = Boolean(market.feed_stale);
    if (market.feed_stale && input("type").value.endsWith("market")) {
      input("type").value = LIMIT_FORM[input("type").value];
      layout();
    }
    const stale = $("[data-stale-note]");
    if (stale) stale.remove();
    if (market.feed_stale && !why) {
      const note = document.createElement("p");
      note.className = "disabled-reason";
      note.dataset.staleNote = "";
      note.textContent = "The price feed is stale: market orders are paused until a fresh price arrives. Limit orders still work.";
      input("type").insertAdjacentElement("afterend", note);
    }
  }

  /** Fill an empty, untouched price box with the last price (else the book's price on the
   * other side), as a trader starts from the market. */
  function prefill() {
    const box = input("price");
    if (priceChosen || box.value || box.closest("[data-show]").hidden) return;
    const { bestBid, bestAsk } = book.best();
    const price = market.last || (side === "buy" ? bestAsk : bestBid);
    if (!price) return;
    box.value = round(price, market.price_places, "half");
    estimate();
  }

  return {
    setPrice(price) {
      priceChosen = true;
      const s = state();
      const target = s.type === "market" ? null : PRICED.has(s.type) ? "price" : "stop_price";
      if (!target) {
        input("type").value = "limit";
        layout();
      }
      const element = input(target || "price");
      element.value = price;
      element.dispatchEvent(new Event("input", { bubbles: true }));
      element.focus();
    },
    setMarket,
    orderChanged: (orders) => orders.forEach(update),
    prefill,
    refresh: estimate,
    init() {
      setMarket({});
      layout();
      prefill();
    },
  };
}

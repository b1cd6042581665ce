// Orders in a trader's words: type names, why the exchange ended an order (the same words as
// the server's notifications, orders/notifications.py), and an order's outcome as one sentence.
import { formatNumber } from "./format.js";

export const OPEN = new Set(["pending", "untriggered", "open", "partially_filled"]);

export const TYPE_NAMES = {
  limit: "Limit",
  market: "Market",
  stop_limit: "Stop-limit",
  stop_market: "Stop-market",
  take_profit_limit: "Take-profit limit",
  take_profit_market: "Take-profit market",
};

export const REASON_WORDS = {
  ioc: "immediate-or-cancel, the rest did not fill at once",
  fok: "fill-or-kill, it could not fill completely at once",
  would_take: "post-only, it would have traded at once",
  self_trade: "it would have traded with your own order",
  insufficient_liquidity: "not enough orders in the book to fill it",
  market_halted: "the market was halted",
  admin: "cancelled by the exchange",
  out_of_range: "its price or amount is beyond what the market can take",
  invalid_precision: "its price or amount is off the market's steps",
  engine_refused: "the matching engine could not take it",
};

const SHORT_REASONS = {
  ioc: "IOC", fok: "FOK", would_take: "post-only would take", self_trade: "self-trade",
  insufficient_liquidity: "no liquidity", market_halted: "halted", admin: "by the exchange",
  user: "", out_of_range: "out of range", invalid_precision: "off the steps",
  engine_refused: "engine refused",
};

/** "rejected (post-only would take)", "partially filled", "cancelled". */
export function statusText(order) {
  const status = order.status.replace("_", " ");
  const reason = order.cancel_reason ? SHORT_REASONS[order.cancel_reason] ?? order.cancel_reason.replace("_", " ") : "";
  return reason ? `${status} (${reason})` : status;
}

/** Digits of a market: { base, quote, price_places, quantity_places, quote_decimals }. */
export function orderWords(order, market) {
  const side = order.side === "buy" ? "Buy" : "Sell";
  const who = order.price ? side : `Market ${order.side}`;
  const what = order.quantity
    ? `${formatNumber(order.quantity, market.quantity_places)} ${market.base}`
    : `with ${formatNumber(order.quote_amount, market.quote_decimals)} ${market.quote} of ${market.base}`;
  const at = order.price ? ` at ${formatNumber(order.price, market.price_places)} ${market.quote}` : "";
  return `${who} ${what}${at}`;
}

/** "6 LPJ filled at 1,010 KRW" (the average price of its fills). */
function filledWords(order, market) {
  const qty = `${formatNumber(order.filled_quantity, market.quantity_places)} ${market.base}`;
  const avg = order.average_price
    ? ` at ${formatNumber(order.average_price, market.price_places)} ${market.quote}` : "";
  return `${qty} filled${avg}`;
}

function hasFilled(order) {
  return /[1-9]/.test(order.filled_quantity || "0");
}

/**
 * The outcome of an order as the form shows it: { tone, text, final }. ``tone`` is "ok"
 * (filled or resting as asked), "warn" (partly filled, cancelled by its terms) or "error"
 * (rejected); ``final`` once the order will not change by itself any more than resting does.
 */
export function outcome(order, market) {
  const words = orderWords(order, market);
  const why = REASON_WORDS[order.cancel_reason] || (order.cancel_reason || "").replace("_", " ");
  switch (order.status) {
    case "pending":
      return { tone: "info", text: `${words}: sent, waiting for the matching engine…`, final: false };
    case "untriggered":
      return { tone: "ok", text: `${words}: waiting for its stop price ${formatNumber(order.stop_price, market.price_places)}.`, final: true };
    case "open":
      return { tone: "ok", text: `${words}: resting in the book, nothing filled yet.`, final: true };
    case "partially_filled":
      return { tone: "ok", text: `${words}: ${filledWords(order, market)}; the rest rests in the book.`, final: true };
    case "filled":
      return { tone: "ok", text: `${words}: ${filledWords(order, market)}.`, final: true };
    case "cancelled":
      if (order.cancel_reason === "user") return { tone: "warn", text: `${words}: cancelled.`, final: true };
      return hasFilled(order)
        ? { tone: "warn", text: `${words}: ${filledWords(order, market)}, the rest cancelled: ${why}.`, final: true }
        : { tone: "warn", text: `${words}: not filled, cancelled: ${why}.`, final: true };
    case "rejected":
      return { tone: "error", text: `${words}: rejected: ${why}. Nothing was placed.`, final: true };
    default:
      return { tone: "info", text: `${words}: ${statusText(order)}.`, final: false };
  }
}

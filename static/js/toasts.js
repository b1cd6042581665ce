// Toasts: short messages in a corner of every page of a logged-in user, for what happens to
// their orders wherever they were placed (this page, another device, a bot on the API): the
// private "notifications" channel brings fills, partial fills, triggers, rejections and the
// exchange's cancels (their titles are the server's words), and the "orders" channel the
// cancels the user asked for (not notified: the toast is the only word of them).
import { trimZeros } from "./decimal.js";
import { formatNumber } from "./format.js";
import * as realtime from "./realtime.js";

const SHOWN_MS = 7000;
const MAX_TOASTS = 4;
const TONES = {
  order_filled: "ok",
  order_partially_filled: "ok",
  stop_triggered: "info",
  order_rejected: "error",
  order_cancelled: "warn",
  withdrawal_completed: "ok",
  withdrawal_rejected: "error",
};

let region = null;
const cancelledShown = new Set();

function container() {
  if (!region) {
    region = document.createElement("div");
    region.className = "toasts";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    region.dataset.toasts = "";
    document.body.append(region);
  }
  return region;
}

/** Show ``text`` for a few seconds; ``tone``: ok, warn, error or info. */
export function toast(text, tone = "info") {
  const box = container();
  const item = document.createElement("div");
  item.className = "toast";
  item.dataset.tone = tone;
  const words = document.createElement("span");
  words.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "toast-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => item.remove());
  item.append(words, close);
  box.append(item);
  while (box.children.length > MAX_TOASTS) box.firstElementChild.remove();
  setTimeout(() => item.remove(), SHOWN_MS);
}

/** "Buy 5 LPJ at 900 KRW" from an order push (no market digits here: its own strings). */
function cancelledWords(order) {
  const [base, quote] = order.symbol.split("-");
  const number = (value) => formatNumber(trimZeros(value));
  const side = order.side === "buy" ? "Buy" : "Sell";
  const what = order.quantity ? `${number(order.quantity)} ${base}` : `with ${number(order.quote_amount)} ${quote} of ${base}`;
  const at = order.price ? ` at ${number(order.price)} ${quote}` : "";
  return `${order.price ? side : `Market ${order.side}`} ${what}${at} cancelled.`;
}

export function startToasts() {
  if (!document.querySelector("[data-notifications]") || !realtime.available()) return;
  realtime.subscribe("notifications", (notification) => {
    toast(notification.title, TONES[notification.kind] || "info");
  });
  realtime.subscribe("orders", (orders) => {
    for (const order of orders) {
      if (order.status !== "cancelled" || order.cancel_reason !== "user") continue;
      if (cancelledShown.has(order.id)) continue;
      cancelledShown.add(order.id);
      toast(cancelledWords(order), "warn");
    }
  });
}

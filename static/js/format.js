// Display formatting: numbers at an asset's or market's precision with digit grouping, and
// times in the viewer's own time zone (the API sends ISO 8601 UTC or epoch milliseconds).
import { round } from "./decimal.js";

const DASH = "—";

/** "1234567.5" at 2 places -> "1,234,567.50"; null/undefined -> "—". */
export function formatNumber(value, places) {
  if (value === null || value === undefined || value === "") return DASH;
  const fixed = places === undefined ? String(value) : round(String(value), places, "half");
  const negative = fixed.startsWith("-");
  const [whole, fraction] = (negative ? fixed.slice(1) : fixed).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "-" : "") + grouped + (fraction !== undefined ? "." + fraction : "");
}

/** "-1.25" -> "-1.25%", "3.10" -> "+3.10%". */
export function formatPercent(value) {
  if (value === null || value === undefined) return DASH;
  const text = String(value);
  return (text.startsWith("-") || /^0(\.0+)?$/.test(text) ? "" : "+") + text + "%";
}

export function changeClass(value) {
  if (value === null || value === undefined || /^-?0(\.0+)?$/.test(String(value))) return "";
  return String(value).startsWith("-") ? "sell" : "buy";
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});

export function toDate(value) {
  return value instanceof Date ? value : new Date(value);
}

export function formatTime(value) {
  return value ? timeFormat.format(toDate(value)) : DASH;
}

export function formatDateTime(value) {
  return value ? dateTimeFormat.format(toDate(value)) : DASH;
}

/** A <time> element showing ``value`` in local time (the ISO UTC value in its attribute). */
export function timeElement(value, withDate = false) {
  const element = document.createElement("time");
  if (!value) {
    element.textContent = DASH;
    return element;
  }
  const date = toDate(value);
  element.dateTime = date.toISOString();
  element.title = date.toISOString();
  element.textContent = withDate ? formatDateTime(date) : formatTime(date);
  return element;
}

/** Rewrite every server-rendered <time data-local> in ``root`` into the viewer's time zone. */
export function localiseTimes(root = document) {
  for (const element of root.querySelectorAll("time[data-local]")) {
    const date = new Date(element.dateTime);
    if (Number.isNaN(date.getTime())) continue;
    element.title = date.toISOString();
    element.textContent = element.dataset.local === "time" ? formatTime(date) : formatDateTime(date);
  }
}

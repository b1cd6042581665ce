// Decimal strings as BigInt "units" (value x 10^places), so money math in the browser never
// goes through floats. Every amount the API sends is a decimal string; so is every input.

const DECIMAL = /^\d+(\.\d+)?$/;

export function isDecimal(text) {
  return DECIMAL.test(String(text).trim());
}

// A typed amount may group its whole digits by thousands ("1,000", "12,345.67"), the one rule
// of every web form (the wallet's server-side form applies the same: tradehive/money.py).
const GROUPED = /^\d{1,3}(,\d{3})+(\.\d+)?$/;

/** What a person typed, as a decimal string: "1,000.5" -> "1000.5"; other text unchanged. */
export function typedDecimal(text) {
  const value = String(text).trim();
  return GROUPED.test(value) ? value.replace(/,/g, "") : value;
}

/** Decimals of a step such as "0.0010" -> 3 (trailing zeros do not count). */
export function placesOf(step) {
  const text = String(step);
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.slice(dot + 1).replace(/0+$/, "").length;
}

/** "12.345" at 2 places -> 1234n (extra decimals are cut, never rounded up). */
export function toUnits(value, places) {
  let text = String(value).trim();
  const negative = text.startsWith("-");
  if (negative) text = text.slice(1);
  const [whole, fraction = ""] = text.split(".");
  const units = BigInt((whole || "0") + fraction.padEnd(places, "0").slice(0, places));
  return negative ? -units : units;
}

/** 1234n at 2 places -> "12.34". */
export function fromUnits(units, places) {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(places + 1, "0");
  const whole = digits.slice(0, digits.length - places);
  const fraction = places ? "." + digits.slice(digits.length - places) : "";
  return (negative ? "-" : "") + whole + fraction;
}

export function pow10(places) {
  return 10n ** BigInt(places);
}

/** a x b of two decimal strings, exactly, as a string with placesA + placesB decimals. */
export function multiply(a, b) {
  const pa = placesOf(a), pb = placesOf(b);
  return fromUnits(toUnits(a, pa) * toUnits(b, pb), pa + pb);
}

/** Round ``value`` to ``places`` decimals: "down" (toward zero), "up" or "half" (half up). */
export function round(value, places, mode = "half") {
  const have = Math.max(placesOf(value), places);
  const units = toUnits(value, have);
  const scale = pow10(have - places);
  let result = units / scale;
  const rest = units % scale;
  if (rest !== 0n && units > 0n) {
    if (mode === "up" || (mode === "half" && rest * 2n >= scale)) result += 1n;
  }
  return fromUnits(result, places);
}

/** The largest multiple of ``step`` not above ``value`` (both decimal strings). */
export function floorToStep(value, step) {
  const places = Math.max(placesOf(value), placesOf(step));
  const units = toUnits(value, places);
  const stepUnits = toUnits(step, places);
  if (stepUnits <= 0n) return value;
  return fromUnits((units / stepUnits) * stepUnits, places);
}

/** ``value`` / ``divisor`` rounded down to ``places`` decimals. */
export function divide(value, divisor, places) {
  const p = Math.max(placesOf(value), placesOf(divisor));
  const a = toUnits(value, p), b = toUnits(divisor, p);
  if (b === 0n) return null;
  return fromUnits((a * pow10(places)) / b, places);
}

export function compare(a, b) {
  const p = Math.max(placesOf(a), placesOf(b));
  const x = toUnits(a, p), y = toUnits(b, p);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function add(a, b) {
  const p = Math.max(placesOf(a), placesOf(b));
  return fromUnits(toUnits(a, p) + toUnits(b, p), p);
}

export function subtract(a, b) {
  const p = Math.max(placesOf(a), placesOf(b));
  return fromUnits(toUnits(a, p) - toUnits(b, p), p);
}

export function isZero(value) {
  return toUnits(value, placesOf(value)) === 0n;
}

/** "0.150000" -> "0.15", "12.000" -> "12". */
export function trimZeros(value) {
  const text = String(value);
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

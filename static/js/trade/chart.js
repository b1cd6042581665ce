// Candlestick chart with volume (TradingView lightweight-charts, vendored in static/vendor/),
// an interval switcher, SMA/EMA/Bollinger overlays from the indicators API and a live last
// candle from the "candles:SYM:INTERVAL" channel. A legend gives the candle under the cursor
// (else the latest): open, high, low, close, volume and the indicators' values, as the API
// sent them, grouped by thousands like the price axis. Times are in the viewer's time zone. A
// short history (a young market on a long interval) is spread over the width, not squeezed
// into the right edge, and a note says where it starts.
import { api } from "../api.js";
import { formatNumber, formatDateTime } from "../format.js";
import * as realtime from "../realtime.js";

const CANDLES = 300;
const COLORS = { up: "#0ecb81", down: "#f6465d", grid: "#1f2733", text: "#8b98a5",
                 line: "#263040", sma: "#f0b90b", ema: "#4aa3ff", bb: "#b37feb" };
const INDICATOR_QUERY = { sma: { sma: "20" }, ema: { ema: "50" }, bollinger: { bollinger: "20,2" } };
const INDICATOR_SERIES = { sma: ["sma_20"], ema: ["ema_50"], bollinger: ["bb_upper", "bb_mid", "bb_lower"] };
const LEGEND_NAMES = { sma_20: "SMA 20", ema_50: "EMA 50", bb_upper: "BB up", bb_mid: "BB mid", bb_lower: "BB low" };
// Bars are drawn at least this wide, at most this wide when few candles fill the chart.
const BAR_SPACING = { normal: 9, widest: 36 };

/** Epoch seconds shifted so the chart (which draws UTC) shows local wall-clock time. */
function chartTime(value) {
  const date = new Date(value);
  return Math.floor(date.getTime() / 1000) - date.getTimezoneOffset() * 60;
}

function bar(candle) {
  return { time: chartTime(candle.t), open: Number(candle.o), high: Number(candle.h),
           low: Number(candle.l), close: Number(candle.c) };
}

function volumeBar(candle) {
  return { time: chartTime(candle.t), value: Number(candle.v),
           color: Number(candle.c) >= Number(candle.o) ? "rgba(14,203,129,.45)" : "rgba(246,70,93,.45)" };
}

/** A price on the axis and the crosshair: the market's decimals, thousands grouped. */
export function axisPrice(price, places) {
  return formatNumber(price.toFixed(places));
}

export function createChart(section, market) {
  const container = section.querySelector("[data-chart]");
  const empty = section.querySelector("[data-chart-empty]");
  const legend = section.querySelector("[data-legend]");
  const historyNote = section.querySelector("[data-history-note]");
  const Charts = window.LightweightCharts;
  if (!Charts) {
    empty.textContent = "The chart library did not load.";
    empty.hidden = false;
    return null;
  }
  const chart = Charts.createChart(container, {
    autoSize: true,
    layout: { background: { type: "solid", color: "transparent" }, textColor: COLORS.text,
              fontFamily: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif" },
    grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
    rightPriceScale: { borderColor: COLORS.line },
    timeScale: { borderColor: COLORS.line, timeVisible: true, secondsVisible: false,
                 barSpacing: 9, rightOffset: 4 },
    crosshair: { mode: 0 },
    // The price axis and crosshair label read like the rest of the page: 95,640,000.
    localization: { priceFormatter: (price) => axisPrice(price, market.price_places) },
  });
  const priceFormat = { type: "price", precision: market.price_places,
                        minMove: Number(market.tick_size) };
  const candles = chart.addCandlestickSeries({
    upColor: COLORS.up, downColor: COLORS.down, borderVisible: false,
    wickUpColor: COLORS.up, wickDownColor: COLORS.down, priceFormat,
  });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
  const volume = chart.addHistogramSeries({ priceFormat: { type: "volume" }, priceScaleId: "",
                                            lastValueVisible: false, priceLineVisible: false });
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });

  const lines = {};
  // What the legend shows, by chart time: the API's own strings (no float rounding).
  const rowsByTime = new Map();
  const indicatorValues = {};
  const enabled = new Set(JSON.parse(localStorage.getItem("th.indicators") || "[]"));
  let interval = localStorage.getItem("th.interval") || "1m";
  let lastTime = null;
  let unsubscribe = () => {};
  let indicatorTimer = null;
  let loadToken = 0;

  function line(name) {
    if (!lines[name]) {
      const color = name.startsWith("sma") ? COLORS.sma : name.startsWith("ema") ? COLORS.ema : COLORS.bb;
      lines[name] = chart.addLineSeries({
        color, lineWidth: name === "bb_mid" ? 1 : 2, priceFormat, lastValueVisible: false,
        priceLineVisible: false, crosshairMarkerVisible: false,
        lineStyle: name === "bb_mid" ? 2 : 0,
      });
    }
    return lines[name];
  }

  async function loadIndicators() {
    for (const [key, names] of Object.entries(INDICATOR_SERIES)) {
      if (enabled.has(key)) continue;
      for (const name of names) {
        if (lines[name]) lines[name].setData([]);
        delete indicatorValues[name];
      }
    }
    if (!hovering) showLegend(lastTime);
    if (!enabled.size) return;
    const query = { interval, limit: CANDLES };
    for (const key of enabled) Object.assign(query, INDICATOR_QUERY[key]);
    const token = loadToken;
    let body;
    try {
      body = await api(`markets/${market.symbol}/indicators`, { query });
    } catch {
      return;
    }
    if (token !== loadToken) return;
    for (const key of enabled) {
      for (const name of INDICATOR_SERIES[key]) {
        const values = body[name] || [];
        indicatorValues[name] = new Map(body.t.map((t, i) => [chartTime(t), values[i]]));
        line(name).setData(body.t.map((t, i) => values[i] === null || values[i] === undefined
          ? { time: chartTime(t) } : { time: chartTime(t), value: Number(values[i]) }));
      }
    }
    if (!hovering) showLegend(lastTime);
  }

  function scheduleIndicators() {
    if (!enabled.size || indicatorTimer) return;
    indicatorTimer = setTimeout(() => {
      indicatorTimer = null;
      loadIndicators();
    }, 1500);
  }

  function applyLive(rows) {
    for (const candle of rows) {
      const time = chartTime(candle.t);
      if (lastTime !== null && time < lastTime) continue; // an older bucket: already drawn
      const newBar = lastTime === null || time > lastTime;
      candles.update(bar(candle));
      volume.update(volumeBar(candle));
      rowsByTime.set(time, candle);
      lastTime = time;
      empty.hidden = true;
      if (newBar) scheduleIndicators();
    }
    if (!hovering) showLegend(lastTime);
  }

  // --- legend ---------------------------------------------------------------------------------

  let hovering = false;

  function legendItem(label, value, className = "") {
    const item = document.createElement("span");
    item.className = `legend-item ${className}`.trim();
    const name = document.createElement("span");
    name.className = "muted";
    name.textContent = label;
    item.append(name, ` ${value}`);
    return item;
  }

  function showLegend(time) {
    const row = time === null || time === undefined ? null : rowsByTime.get(time);
    if (!row) {
      legend.replaceChildren();
      return;
    }
    const price = (v) => formatNumber(v, market.price_places);
    const up = Number(row.c) >= Number(row.o);
    const tone = up ? "buy" : "sell";
    const items = [
      legendItem("O", price(row.o), tone), legendItem("H", price(row.h), tone),
      legendItem("L", price(row.l), tone), legendItem("C", price(row.c), tone),
      legendItem("Vol", formatNumber(row.v, market.quantity_places)),
    ];
    for (const key of enabled) {
      for (const name of INDICATOR_SERIES[key]) {
        const value = indicatorValues[name]?.get(time);
        if (value !== null && value !== undefined) {
          items.push(legendItem(LEGEND_NAMES[name], formatNumber(value, market.price_places + 2), `ind-${key}`));
        }
      }
    }
    const when = document.createElement("span");
    when.className = "legend-item muted";
    when.textContent = formatDateTime(new Date(row.t));
    // Spaces between the items: the legend reads as text too (copy, screen readers).
    legend.replaceChildren(...[when, ...items].flatMap((item) => [item, " "]));
  }

  chart.subscribeCrosshairMove((param) => {
    hovering = Boolean(param.time);
    showLegend(param.time ?? lastTime);
  });

  /** Spread few candles over the width; many at the normal spacing, the latest in view. */
  function fit(count) {
    const width = container.clientWidth || 600;
    const spacing = count ? Math.min(BAR_SPACING.widest, Math.max(BAR_SPACING.normal, width / (count + 8))) : BAR_SPACING.normal;
    chart.timeScale().applyOptions({ barSpacing: spacing });
    chart.timeScale().scrollToRealTime();
  }

  async function load() {
    const token = ++loadToken;
    unsubscribe();
    let rows = [];
    try {
      rows = await api(`markets/${market.symbol}/candles`, { query: { interval, limit: CANDLES } });
    } catch {
      rows = [];
    }
    if (token !== loadToken) return;
    candles.setData(rows.map(bar));
    volume.setData(rows.map(volumeBar));
    rowsByTime.clear();
    for (const row of rows) rowsByTime.set(chartTime(row.t), row);
    lastTime = rows.length ? chartTime(rows[rows.length - 1].t) : null;
    empty.hidden = rows.length > 0;
    fit(rows.length);
    showLegend(lastTime);
    historyNote.textContent = rows.length && rows.length < CANDLES
      ? `History since ${formatDateTime(new Date(rows[0].t))}: ${rows.length} candle${rows.length === 1 ? "" : "s"} of ${interval}.`
      : "";
    unsubscribe = realtime.subscribe(`candles:${market.symbol}:${interval}`, applyLive);
    loadIndicators();
  }

  const buttons = section.querySelectorAll("[data-interval]");
  function pressInterval() {
    for (const button of buttons) {
      button.setAttribute("aria-pressed", String(button.dataset.interval === interval));
    }
  }
  for (const button of buttons) {
    button.addEventListener("click", () => {
      if (button.dataset.interval === interval) return;
      interval = button.dataset.interval;
      localStorage.setItem("th.interval", interval);
      pressInterval();
      load();
    });
  }
  if (![...buttons].some((b) => b.dataset.interval === interval)) interval = "1m";
  pressInterval();

  for (const box of section.querySelectorAll("[data-indicators] input")) {
    box.checked = enabled.has(box.value);
    box.addEventListener("change", () => {
      if (box.checked) enabled.add(box.value);
      else enabled.delete(box.value);
      localStorage.setItem("th.indicators", JSON.stringify([...enabled]));
      loadIndicators();
    });
  }

  load();
  realtime.onReconnect(load);
  return { reload: load, isLive: () => realtime.available() };
}

// The depth chart: the order book's cumulative amounts as two areas meeting at the spread, bids
// (green) rising to the left, asks (red) to the right, drawn on a <canvas> from the book the
// page already keeps live. Hovering shows how much could be bought or sold up to a price. Its
// text alternative sums the same (best prices, the amounts within the drawn range).
import { formatNumber } from "../format.js";

const COLORS = { bid: "#0ecb81", ask: "#f6465d", grid: "#1f2733", text: "#8b98a5", line: "#263040" };
// How far from the middle price the chart reaches, at most (a fraction of it).
const MAX_SPAN = 0.1;
const PAD = { left: 8, right: 64, top: 12, bottom: 26 };

export function createDepth(canvas, market, book) {
  const context = canvas.getContext("2d");
  let hover = null;
  let shown = null; // what was drawn: for the tooltip

  function cumulate(levels) {
    let total = 0;
    return levels.map(([price, qty]) => [Number(price), (total += Number(qty)), price]);
  }

  function draw() {
    if (canvas.hidden) return;
    const { bids, asks } = book.levels();
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (!width || !height) return;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    context.font = "11px system-ui, sans-serif";
    if (!bids.length && !asks.length) {
      context.fillStyle = COLORS.text;
      context.textAlign = "center";
      context.fillText("The book is empty", width / 2, height / 2);
      canvas.setAttribute("aria-label", "Depth chart: the book is empty.");
      shown = null;
      return;
    }
    const bestBid = bids.length ? Number(bids[0][0]) : null;
    const bestAsk = asks.length ? Number(asks[0][0]) : null;
    const mid = bestBid !== null && bestAsk !== null ? (bestBid + bestAsk) / 2 : (bestBid ?? bestAsk);
    const reach = Math.max(
      bestBid !== null ? mid - Number(bids[bids.length - 1][0]) : 0,
      bestAsk !== null ? Number(asks[asks.length - 1][0]) - mid : 0,
      mid * 0.002,
    );
    // Up to MAX_SPAN around the middle, but always past the best prices (a wide spread).
    const halfSpread = bestBid !== null && bestAsk !== null ? (bestAsk - bestBid) / 2 : 0;
    const span = Math.min(reach, Math.max(mid * MAX_SPAN, halfSpread * 2));
    const low = mid - span, high = mid + span;
    const bidSteps = cumulate(bids).filter(([p]) => p >= low);
    const askSteps = cumulate(asks).filter(([p]) => p <= high);
    const most = Math.max(bidSteps.at(-1)?.[1] || 0, askSteps.at(-1)?.[1] || 0) * 1.1 || 1;
    const plotW = width - PAD.left - PAD.right, plotH = height - PAD.top - PAD.bottom;
    const x = (price) => PAD.left + ((price - low) / (high - low)) * plotW;
    const y = (amount) => PAD.top + plotH - (amount / most) * plotH;

    context.strokeStyle = COLORS.grid;
    context.lineWidth = 1;
    context.fillStyle = COLORS.text;
    context.textAlign = "left";
    for (let i = 0; i <= 4; i++) {
      const amount = (most / 4) * i;
      const gy = y(amount);
      context.beginPath();
      context.moveTo(PAD.left, gy);
      context.lineTo(PAD.left + plotW, gy);
      context.stroke();
      context.fillText(formatNumber(amount.toFixed(market.quantity_places)), PAD.left + plotW + 6, gy + 4);
    }
    context.textAlign = "center";
    for (const price of [low, mid, high]) {
      context.fillText(formatNumber(price.toFixed(market.price_places)), Math.min(Math.max(x(price), 40), width - PAD.right - 10), height - 8);
    }

    function area(steps, color, direction) {
      if (!steps.length) return;
      context.beginPath();
      context.moveTo(x(steps[0][0]), y(0));
      let previous = steps[0][0];
      for (const [price, total] of steps) {
        context.lineTo(x(previous), y(total));
        context.lineTo(x(price), y(total));
        previous = price;
      }
      const edge = direction < 0 ? low : high;
      context.lineTo(x(edge), y(steps.at(-1)[1]));
      context.lineTo(x(edge), y(0));
      context.closePath();
      context.fillStyle = `${color}33`;
      context.fill();
      context.strokeStyle = color;
      context.lineWidth = 1.5;
      context.stroke();
    }
    area(bidSteps, COLORS.bid, -1);
    area(askSteps, COLORS.ask, 1);

    shown = { bidSteps, askSteps, x, y, low, high, plotW };
    if (hover !== null) tooltip(hover);
    const summary = [];
    if (bidSteps.length) summary.push(`bids from ${formatNumber(bids[0][0], market.price_places)} down to ${formatNumber(bidSteps.at(-1)[2], market.price_places)}, ${formatNumber(bidSteps.at(-1)[1].toFixed(market.quantity_places))} ${market.base} in all`);
    if (askSteps.length) summary.push(`asks from ${formatNumber(asks[0][0], market.price_places)} up to ${formatNumber(askSteps.at(-1)[2], market.price_places)}, ${formatNumber(askSteps.at(-1)[1].toFixed(market.quantity_places))} ${market.base} in all`);
    canvas.setAttribute("aria-label", `Depth chart of ${market.symbol}: ${summary.join("; ")}.`);
  }

  function tooltip(atX) {
    if (!shown) return;
    const { bidSteps, askSteps, x, y } = shown;
    const price = shown.low + ((atX - PAD.left) / shown.plotW) * (shown.high - shown.low);
    const bid = bidSteps.filter(([p]) => p >= price).at(-1);
    const ask = askSteps.filter(([p]) => p <= price).at(-1);
    const step = bid || ask;
    if (!step) return;
    const side = bid ? "sell" : "buy";
    const text = `${formatNumber(step[2], market.price_places)} ${market.quote}: `
      + `${side} ${formatNumber(step[1].toFixed(market.quantity_places))} ${market.base}`;
    context.fillStyle = bid ? COLORS.bid : COLORS.ask;
    context.beginPath();
    context.arc(x(step[0]), y(step[1]), 3.5, 0, Math.PI * 2);
    context.fill();
    context.font = "12px system-ui, sans-serif";
    const boxW = context.measureText(text).width + 12;
    const left = Math.min(Math.max(x(step[0]) - boxW / 2, 2), canvas.clientWidth - boxW - 2);
    context.fillStyle = "#0b0f14";
    context.fillRect(left, 4, boxW, 20);
    context.fillStyle = "#e6edf3";
    context.textAlign = "left";
    context.fillText(text, left + 6, 18);
    canvas.dataset.hover = text;
  }

  canvas.addEventListener("mousemove", (event) => {
    hover = event.offsetX;
    draw();
  });
  canvas.addEventListener("mouseleave", () => {
    hover = null;
    delete canvas.dataset.hover;
    draw();
  });
  book.onChange(draw);
  new ResizeObserver(draw).observe(canvas);
  return { draw };
}

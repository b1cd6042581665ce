// The equity curve of a public trader profile: return % over time, from the page's
// json_script block ("curve-data"), drawn with lightweight-charts (loaded by the page).
const section = document.querySelector("[data-curve]");
const empty = section.querySelector("[data-chart-empty]");
const points = JSON.parse(document.getElementById("curve-data").textContent);

function draw() {
  const Charts = window.LightweightCharts;
  if (!Charts) {
    empty.textContent = "The chart library did not load.";
    empty.hidden = false;
    return;
  }
  if (!points.length) {
    empty.hidden = false;
    return;
  }
  const chart = Charts.createChart(section, {
    autoSize: true,
    layout: { background: { type: "solid", color: "transparent" }, textColor: "#b7bdc6" },
    grid: { vertLines: { color: "#1f2733" }, horzLines: { color: "#1f2733" } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  const line = chart.addLineSeries({
    color: "#f0b90b", lineWidth: 2,
    priceFormat: { type: "custom", formatter: (v) => `${v.toFixed(2)}%` },
  });
  // Times are whole seconds, strictly increasing (the API answers one point per hour).
  const data = [];
  for (const p of points) {
    const time = Math.floor(Date.parse(p.t) / 1000);
    if (!data.length || time > data[data.length - 1].time) {
      data.push({ time, value: Number(p.return_pct) });
    }
  }
  line.setData(data);
  chart.timeScale().fitContent();
  section.dataset.points = String(data.length);
}

// The library script is deferred; module scripts run after deferred ones, in document order.
draw();

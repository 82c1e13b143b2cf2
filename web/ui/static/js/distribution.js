// Score distributions on the defect-class page: per class, how its
// probability spreads over recent records and over labelled ones, with the
// class's threshold drawn as a line, so a threshold is chosen by looking
// (GET /classes/:set/distribution, docs/api.md). Charts are Chart.js.

import { h, fill, num, errorBox } from "./dom.js";
import { get, query } from "./api.js";

const colours = { recent: "#5cb8ff", positive: "#ff4d4f", negative: "#2ecc71", threshold: "#ffb020", grid: "#2c343f", text: "#d6dbe3" };

// thresholdLine draws the chart's threshold (options.plugins.threshold.value,
// 0..1 along the x axis, whose bins split [0, 1] evenly) as a dashed line.
const thresholdLine = {
  id: "threshold",
  afterDatasetsDraw(chart, _args, opts) {
    if (opts.value === null || opts.value === undefined) return;
    const { ctx, chartArea: a } = chart;
    const x = a.left + Math.min(1, Math.max(0, opts.value)) * a.width;
    ctx.save();
    ctx.strokeStyle = colours.threshold;
    ctx.lineWidth = 3;
    ctx.setLineDash([6, 4]);
    ctx.beginPath();
    ctx.moveTo(x, a.top);
    ctx.lineTo(x, a.bottom);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = colours.threshold;
    ctx.font = "bold 13px sans-serif";
    const text = `threshold ${Number(opts.value).toFixed(2)}`;
    const w = ctx.measureText(text).width;
    ctx.fillText(text, x + 6 + w > a.right ? x - 6 - w : x + 6, a.top + 14);
    ctx.restore();
  },
};

// share turns counts into percentages of n, so series of different sizes
// compare.
const share = (h) => (h && h.n ? h.counts.map((c) => (100 * c) / h.n) : []);

// panel builds the distributions section for the sets of a /classes reply.
export function distributions(classesReply) {
  const sets = (classesReply && classesReply.sets) || [];
  const set = h("select#dist-set", { "aria-label": "Class set" }, sets.map((s) => h("option", { value: s.name }, s.name)));
  const range = h("select#dist-range", { "aria-label": "Recent records" },
    [["1h", "last hour"], ["8h", "last 8 hours"], ["24h", "last 24 hours"], ["168h", "last 7 days"]].map(([v, t]) => h("option", { value: v, selected: v === "24h" }, t)));
  const summary = h("p.muted#dist-summary");
  const grid = h("div.charts#dist-charts");
  const el = h("section.panel#distributions", { style: "margin-top:12px" },
    h("div.row", { style: "justify-content:space-between" }, h("h2", "Score distributions"),
      h("span.row", h("label", "Set", set), h("label", "Recent", range))),
    h("p.muted", "Each class's probability over the recent records (blue) and over the labelled ones: parts that truly are the class (red) and the others (green). A threshold between red and green separates them."),
    summary, grid);
  const charts = [];

  async function load() {
    for (const c of charts.splice(0)) c.destroy();
    fill(grid);
    if (!set.value) { fill(summary, "No class sets."); return; }
    let d;
    try {
      d = await get(`/classes/${encodeURIComponent(set.value)}/distribution` + query({ range: range.value }));
    } catch (err) {
      fill(summary, errorBox(err));
      return;
    }
    fill(summary, `${num(d.recent)} recent records${d.truncated ? " (the newest only)" : ""}, ${num(d.labelled)} labelled; ${d.bins} bins over 0–1.`);
    const boxes = (d.classes || []).map((c) => box(d, c.class + (c.good ? " (good)" : ""), c, c.threshold));
    if (d.anomaly) boxes.push(box(d, "anomaly score", d.anomaly, d.anomaly.threshold, d.anomaly.auto));
    fill(grid, boxes);
  }

  function box(d, title, c, threshold, auto) {
    const canvas = h("canvas", { role: "img", "aria-label": `${title}: score distribution`, dataset: { class: title, threshold: threshold ?? "" } });
    const el = h("section.panel.dist", { dataset: { class: title } }, h("h3", { style: "margin:0 0 4px" }, title,
      h("small.muted", threshold === null || threshold === undefined ? "  no threshold yet" : `  threshold ${Number(threshold).toFixed(2)}${auto ? " (auto)" : ""}`)),
      h("div.chart-box", canvas));
    const Chart = window.Chart;
    if (!Chart) {
      el.append(h("p.muted", "Charts are not installed on this appliance (make assets)."));
      return el;
    }
    const labels = Array.from({ length: d.bins }, (_, i) => (i / d.bins).toFixed(2));
    const lab = c.labelled || {};
    charts.push(new Chart(canvas, {
      type: "bar",
      plugins: [thresholdLine],
      data: {
        labels,
        datasets: [
          { label: `recent (${num(c.recent && c.recent.n)})`, data: share(c.recent), backgroundColor: colours.recent, barPercentage: 1, categoryPercentage: 0.9 },
          { label: `labelled ${title.startsWith("anomaly") ? "defective" : "this class"} (${num(lab.positive && lab.positive.n)})`, data: share(lab.positive), backgroundColor: colours.positive, barPercentage: 1, categoryPercentage: 0.9 },
          { label: `labelled other (${num(lab.negative && lab.negative.n)})`, data: share(lab.negative), backgroundColor: colours.negative, barPercentage: 1, categoryPercentage: 0.9 },
        ],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { title: { display: true, text: "score" } }, y: { beginAtZero: true, title: { display: true, text: "% of records" } } },
        plugins: { threshold: { value: threshold } },
      },
    }));
    return el;
  }

  set.addEventListener("change", load);
  range.addEventListener("change", load);
  return { el, load, destroy: () => { for (const c of charts.splice(0)) c.destroy(); } };
}

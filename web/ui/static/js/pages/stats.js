// Statistics: yield over time, the defect Pareto and the latency histogram,
// for one camera or all, over a time range. Charts are Chart.js.

import { h, fill, pct, num, ms, errorBox, dateTime } from "../dom.js";
import { get, query } from "../api.js";
import { latest } from "../status.js";

const ranges = [["1h", "Last hour"], ["8h", "Last 8 hours"], ["24h", "Last 24 hours"], ["168h", "Last 7 days"], ["720h", "Last 30 days"]];

const colours = { pass: "#2ecc71", fail: "#ff4d4f", uncertain: "#ffb020", missed: "#c77dff", accent: "#5cb8ff", grid: "#2c343f", text: "#d6dbe3" };

export async function render(root) {
  const camera = h("select#stats-camera", { name: "camera" }, h("option", { value: "" }, "All cameras"));
  const range = h("select#stats-range", { name: "range" }, ranges.map(([v, t]) => h("option", { value: v }, t)));
  range.value = await defaultRange();
  const summary = h("div.figures#stats-summary");
  const msg = h("div");
  const box = (id, title) => {
    const canvas = h(`canvas#${id}`, { role: "img", "aria-label": title });
    return { canvas, el: h("section.panel", h("h2", title), h("div.chart-box", canvas)) };
  };
  const yieldBox = box("chart-yield", "Yield over time");
  const paretoBox = box("chart-pareto", "Defect Pareto (FAIL)");
  const latencyBox = box("chart-latency", "Capture-to-verdict latency");
  const reports = h("div#shift-reports");
  fill(root,
    h("div.row.panel", h("label", "Camera", camera), h("label", "Time range", range),
      h("button", { type: "button", onclick: () => load() }, "Refresh")),
    msg, summary,
    h("div.charts", yieldBox.el, paretoBox.el, latencyBox.el),
    h("section.panel", h("h2", "Shift reports"), reports));
  loadReports(reports);

  const Chart = window.Chart;
  if (!Chart) {
    fill(msg, errorBox("Charts are not installed on this appliance (run `make assets` before building). Figures below still work."));
  } else {
    Chart.defaults.color = colours.text;
    Chart.defaults.borderColor = colours.grid;
    Chart.defaults.font.size = 14;
    Chart.defaults.animation = false;
  }
  const charts = [];
  const chart = (canvas, cfg) => {
    if (!Chart) return null;
    const existing = Chart.getChart(canvas);
    if (existing) existing.destroy();
    const c = new Chart(canvas, cfg);
    charts.push(c);
    return c;
  };

  for (const c of (latest() && latest().cameras) || []) camera.append(h("option", { value: c.id }, c.id));
  try {
    const cams = await get("/cameras");
    fill(camera, h("option", { value: "" }, "All cameras"), cams.map((c) => h("option", { value: c.id }, c.id)));
  } catch { /* keep the status list */ }

  async function load() {
    const q = { from: range.value, camera: camera.value };
    fill(msg, Chart ? null : msg.firstChild);
    try {
      const [y, p, l] = await Promise.all([
        get("/stats/yield" + query(q)),
        get("/stats/pareto" + query(q)),
        get("/stats/latency" + query(q)),
      ]);
      const t = y.total || {};
      const yieldNow = t.total ? t.yield : null;
      fill(summary,
        // Red below 90 %, as on the live view.
        fig("Yield", pct(yieldNow), yieldNow !== null && yieldNow < 0.9 ? "yield.low" : "yield", "yield"),
        fig("Inspected", num(t.total), "", "inspected"),
        fig("Pass", num(t.pass), "pass", "pass"),
        fig("Fail", num(t.fail), "fail", "fail"),
        fig("Uncertain", num(t.uncertain), "uncertain", "uncertain"),
        t.missed ? fig("Missed", num(t.missed), "fail", "missed") : null,
        // Observed quantiles of the records' latencies (the newest 20,000 when sampled).
        fig("Latency p50", l.count ? ms(l.p50_ns) : "—", "", "p50"),
        fig("Latency p99", l.count ? ms(l.p99_ns) : "—", "", "p99"));
      drawYield(y);
      drawPareto(p);
      drawLatency(l);
    } catch (err) {
      fill(msg, errorBox(err));
    }
  }

  function drawYield(y) {
    // The chart starts at the first step with inspections: steps before the
    // line ran would squeeze the data against the right edge.
    const all = y.points || [];
    const first = all.findIndex((p) => p.total > 0);
    const pts = first > 0 ? all.slice(first) : all;
    const step = (y.step_ns || 3600e9) / 1e6;
    const label = (p) => {
      const d = new Date(p.from);
      return step >= 86400e3 ? d.toLocaleDateString() : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
    };
    chart(yieldBox.canvas, {
      data: {
        labels: pts.map(label),
        datasets: [
          { type: "line", label: "Yield %", yAxisID: "y", data: pts.map((p) => (p.total ? 100 * p.yield : null)), borderColor: colours.pass, backgroundColor: colours.pass, spanGaps: true, pointRadius: 2 },
          { type: "bar", label: "Fail", yAxisID: "n", data: pts.map((p) => p.fail), backgroundColor: colours.fail, stack: "n" },
          { type: "bar", label: "Uncertain", yAxisID: "n", data: pts.map((p) => p.uncertain), backgroundColor: colours.uncertain, stack: "n" },
        ],
      },
      options: {
        maintainAspectRatio: false,
        scales: {
          y: { position: "left", min: 0, max: 100, title: { display: true, text: "yield %" } },
          n: { position: "right", beginAtZero: true, stacked: true, grid: { drawOnChartArea: false }, title: { display: true, text: "parts" } },
          x: { stacked: true },
        },
      },
    });
  }

  function drawPareto(p) {
    const cls = p.classes || [];
    chart(paretoBox.canvas, {
      data: {
        labels: cls.map((c) => c.class),
        datasets: [
          { type: "bar", label: "FAIL count", yAxisID: "n", data: cls.map((c) => c.count), backgroundColor: colours.fail, order: 2 },
          { type: "line", label: "Cumulative %", yAxisID: "c", data: cls.map((c) => 100 * c.cumulative), borderColor: colours.accent, backgroundColor: colours.accent, order: 1 },
        ],
      },
      options: {
        maintainAspectRatio: false,
        scales: {
          // Every bar names its class: no label is skipped to save room.
          x: { ticks: { autoSkip: false, maxRotation: 90, minRotation: 0 } },
          n: { position: "left", beginAtZero: true, title: { display: true, text: "FAIL verdicts" } },
          c: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "cumulative %" } },
        },
        plugins: { subtitle: { display: !cls.length, text: "No FAIL verdicts in this range" } },
      },
    });
  }

  function drawLatency(l) {
    // Buckets are cumulative: per-bucket counts are the differences. Empty
    // buckets at both ends are dropped so the shape is readable.
    const b = l.buckets || [];
    const rows = b.map((x, i) => ({ le: x.le_ns, n: x.count - (i ? b[i - 1].count : 0) }));
    let lo = rows.findIndex((r) => r.n > 0);
    let hi = rows.length - 1 - [...rows].reverse().findIndex((r) => r.n > 0);
    if (lo < 0) { lo = 0; hi = -1; }
    const shown = rows.slice(Math.max(0, lo - 1), hi + 2);
    const name = (le) => (le >= 9e18 ? "more" : "≤ " + ms(le));
    chart(latencyBox.canvas, {
      type: "bar",
      data: { labels: shown.map((r) => name(r.le)), datasets: [{ label: `inspections (${num(l.count)}${l.sampled ? ", sampled" : ""})`, data: shown.map((r) => r.n), backgroundColor: colours.accent }] },
      options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: "inspections" } } } },
    });
  }

  camera.addEventListener("change", load);
  range.addEventListener("change", load);
  await load();
  const timer = setInterval(load, 30000);
  return () => { clearInterval(timer); for (const c of charts) c.destroy(); };
}

function fig(label, value, cls = "", key = "") {
  return h(`div.figure${cls ? "." + cls : ""}`, { dataset: key ? { figure: key } : undefined }, h("div.label", label), h("div.value", value));
}

// defaultRange is the shortest range up to 24 hours that holds every
// inspection of the last 24 hours: half an hour of data fills the chart
// instead of sitting at the edge of a day. 24 hours when there is none.
async function defaultRange() {
  const day = 24 * 3600e3;
  try {
    const r = await get("/history" + query({ from: new Date(Date.now() - day).toISOString(), order: "oldest", limit: 1 }));
    const first = r.records && r.records[0];
    if (!first) return "24h";
    const age = Date.now() - new Date(first.captured_at).getTime();
    for (const [v, hours] of [["1h", 1], ["8h", 8]]) if (age < hours * 3600e3) return v;
  } catch { /* fall back to a day */ }
  return "24h";
}

// loadReports lists the saved shift reports with links to their pages
// and JSON.
async function loadReports(el) {
  try {
    const list = await get("/reports?limit=30");
    fill(el, list.length ? h("table", h("thead", h("tr", h("th", "Shift"), h("th.num", "Parts"), h("th.num", "Yield"), h("th", "Report"))),
      h("tbody", list.map((r) => h("tr", h("td", `${dateTime(r.start)} – ${dateTime(r.end)}`), h("td.num", num(r.total)), h("td.num", pct(r.yield)),
        h("td", h("a", { href: `/api/v1/reports/${r.html}`, target: "_blank", rel: "noopener" }, "page"), " · ",
          h("a", { href: `/api/v1/reports/${r.json}`, target: "_blank", rel: "noopener" }, "JSON")))))) :
      h("p.muted", "No shift has ended since the appliance started keeping reports."));
  } catch (err) {
    fill(el, errorBox(err));
  }
}

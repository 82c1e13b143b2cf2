// Live: per camera the latest frame with its verdict, shift figures in big
// type, the verdict feed (server-sent events) and alarms to acknowledge.

import { h, fill, verdictBadge, pct, num, ms, time } from "../dom.js";
import { get, post, url } from "../api.js";
import { onStatus } from "../status.js";
import { canOperate } from "../session.js";
import { openEvents } from "../events.js";

const FEED_MAX = 60;
// A camera's frame is fetched again at most this often (the server encodes
// at most 5 per second anyway).
const FRAME_EVERY_MS = 400;

export async function render(root) {
  const figures = h("section.figures#figures", { "aria-label": "Shift figures" });
  const cameras = h("section.cameras#cameras", { "aria-label": "Cameras" });
  const feed = h("ol.feed#feed", { "aria-live": "polite", "aria-label": "Latest verdicts" });
  const alarms = h("ul.alarms#alarms");
  const conn = h("span.muted#stream-state", "connecting…");
  const shiftNote = h("span.muted");
  fill(root,
    figures,
    h("div.row.muted", { style: "margin-top:4px" }, shiftNote),
    h("div.live-layout",
      cameras,
      h("aside.grid", { style: "align-content:start" },
        h("section.panel", h("h2", "Alarms"), alarms),
        h("section.panel",
          h("div.row", { style: "justify-content:space-between" }, h("h2", "Verdicts"), conn),
          feed))));

  const tiles = new Map();
  let shift = null;

  // ---- cameras ----
  function tile(id, mode) {
    let t = tiles.get(id);
    if (t) {
      if (mode && !t.mode) addTrigger(t, mode);
      return t;
    }
    const img = h("img", { alt: `latest frame of ${id}` });
    img.addEventListener("error", () => img.classList.add("missing"));
    const badge = verdictBadge("", ".big");
    const meta = h("div.meta", h("span", "waiting for a verdict"));
    const el = h("article.camera", { dataset: { camera: id } }, img, h("div.overlay", h("span.name", id), badge), meta);
    t = { id, el, img, badge, meta, mode: "", loading: false, pending: false, lastFetch: 0 };
    tiles.set(id, t);
    cameras.append(el);
    if (mode) addTrigger(t, mode);
    refreshFrame(t);
    return t;
  }

  function addTrigger(t, mode) {
    t.mode = mode;
    if (mode === "triggered" && canOperate()) {
      t.el.append(h("button.trigger", { type: "button", onclick: () => triggerPart(t.id) }, "Trigger"));
    }
  }

  // refreshFrame loads the camera's latest frame, at most one request in
  // flight and one every FRAME_EVERY_MS, swapping only once it has loaded so
  // the picture never blanks.
  function refreshFrame(t) {
    if (t.loading) { t.pending = true; return; }
    const wait = t.lastFetch + FRAME_EVERY_MS - Date.now();
    if (wait > 0) { t.pending = true; setTimeout(() => { if (t.pending) { t.pending = false; refreshFrame(t); } }, wait); return; }
    t.loading = true;
    t.lastFetch = Date.now();
    const next = new Image();
    const done = () => {
      t.loading = false;
      if (t.pending) { t.pending = false; refreshFrame(t); }
    };
    next.onload = () => { t.img.src = next.src; t.img.classList.remove("missing"); done(); };
    next.onerror = done;
    next.src = url(`/cameras/${encodeURIComponent(t.id)}/frame.jpg?t=${Date.now()}`);
  }

  function showOnTile(v, fetchFrame = true) {
    const t = tile(v.camera);
    t.el.className = `camera ${v.outcome}`;
    const badge = verdictBadge(v.outcome, ".big");
    t.badge.replaceWith(badge);
    t.badge = badge;
    fill(t.meta,
      h("span", v.part_id ? `part ${v.part_id}` : `#${v.seq}`),
      h("span", v.class ? `${v.class} ${pct(v.confidence, 0)}` : (v.reason || "")),
      h("span", ms(v.latency_ns)));
    if (fetchFrame) refreshFrame(t);
  }

  // ---- feed ----
  function addToFeed(v, fresh = true) {
    const li = h(`li${fresh ? ".new" : ""}`, { dataset: { outcome: v.outcome, camera: v.camera, part: v.part_id || "" } },
      verdictBadge(v.outcome),
      h("span.what", `${v.camera} · ${v.part_id || "#" + v.seq}${v.class ? " · " + v.class : v.reason ? " · " + v.reason : ""}`),
      h("span.muted", time(v.captured_at)));
    feed.prepend(li);
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
  }

  function onVerdict(v) {
    showOnTile(v);
    addToFeed(v);
    if (shift) {
      shift.total++;
      const k = (v.outcome || "").toLowerCase();
      shift[k] = (shift[k] || 0) + 1;
      shift.yield = shift.total ? shift.pass / shift.total : null;
      showFigures();
    }
  }

  // ---- shift figures ----
  function showFigures() {
    const s = shift || {};
    const y = s.total ? (s.yield ?? s.pass / s.total) : null;
    fill(figures,
      figure("Yield", pct(y), y !== null && y < 0.9 ? "yield.low" : "yield", "yield"),
      figure("Inspected", num(s.total), "", "inspected"),
      figure("Pass", num(s.pass), "", "pass"),
      figure("Fail", num(s.fail), "fail", "fail"),
      figure("Uncertain", num(s.uncertain), "uncertain", "uncertain"),
      s.missed ? figure("Missed", num(s.missed), "fail", "missed") : null);
    if (s.from) fill(shiftNote, `Shift since ${time(s.from)}`);
  }

  async function loadShift() {
    try {
      shift = await get("/shift");
    } catch {
      shift = shift || null;
    }
    showFigures();
  }

  // ---- alarms ----
  function showAlarms(list) {
    if (!list || !list.length) { fill(alarms, h("li.acked", "No alarms")); return; }
    fill(alarms, list.map((a) => {
      const cls = `${a.acknowledged ? ".acked" : ""}${a.severity === "warning" || a.severity === "info" ? ".warning" : ""}`;
      const action = a.acknowledged
        ? h("small", `acknowledged${a.acknowledged_by ? " by " + a.acknowledged_by : ""}`)
        : canOperate() ? h("button", { type: "button", onclick: () => ack(a.id) }, "Acknowledge") : null;
      return h(`li${cls}`, { dataset: { alarm: a.id } },
        h("span", h("strong", (a.severity || "").toUpperCase()), " ", a.message || a.kind, h("br"),
          h("small.muted", `since ${time(a.since)}`)),
        action);
    }));
  }

  async function loadAlarms() {
    try {
      showAlarms(await get("/alarms"));
    } catch (err) {
      fill(alarms, h("li.acked", err.status === 401 ? "Log in to see alarms" : "Alarms unavailable"));
    }
  }

  async function ack(id) {
    try { await post(`/alarms/${encodeURIComponent(id)}/ack`, {}); } catch (err) { alert(err.message); }
    loadAlarms();
  }

  async function triggerPart(camera) {
    const part = prompt(`Part id to inspect on ${camera}`, `P-${Date.now() % 100000}`);
    if (!part) return;
    try { await post(`/cameras/${encodeURIComponent(camera)}/trigger`, { part_id: part }); } catch (err) { alert(err.message); }
  }

  // ---- wiring ----
  const stopStatus = onStatus((s) => {
    for (const c of (s && s.cameras) || []) tile(c.id, c.mode);
  });

  const events = openEvents({
    verdict: onVerdict,
    alarms: showAlarms,
    open: () => { fill(conn, "● live"); conn.className = "live"; loadShift(); },
    error: () => { fill(conn, "reconnecting…"); conn.className = "muted"; },
  });

  showFigures();
  loadShift();
  loadAlarms();
  try {
    for (const c of await get("/cameras")) {
      tile(c.id, c.mode);
      if (c.last_verdict) showOnTile(c.last_verdict, false);
    }
  } catch { /* the status poll adds the cameras */ }
  try {
    const recent = await get("/history?limit=20", { onUnauthorized: false });
    for (const r of (recent.records || []).reverse()) addToFeed(r, false);
  } catch { /* kiosk: the feed fills as verdicts arrive */ }
  // The shift total is authoritative; re-read it now and then.
  const timer = setInterval(loadShift, 60000);

  return () => { events.close(); stopStatus(); clearInterval(timer); };
}

function figure(label, value, cls, key) {
  return h(`div.figure${cls ? "." + cls : ""}`, { dataset: { figure: key } }, h("div.label", label), h("div.value", value));
}

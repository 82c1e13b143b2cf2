// Live: per camera the latest frame with its verdict (and its anomaly map),
// shift figures in big type, the last FAIL and UNCERTAIN parts, the verdict
// feed (server-sent events) and alarms to acknowledge.

import { h, fill, verdictBadge, pct, score, num, ms, time } from "../dom.js";
import { get, post, url } from "../api.js";
import { onStatus } from "../status.js";
import { canOperate, canEdit } from "../session.js";
import { openEvents } from "../events.js";
import { attach, heatToggle, applyHeat, verdictScore } from "../anomaly.js";

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
  const strip = h("ol.strip#rejects", { "aria-label": "Last FAIL and UNCERTAIN parts" });
  const goldenMsg = h("span#golden-msg", { "aria-live": "polite" });
  fill(root,
    figures,
    h("div.row.muted", { style: "margin-top:4px" }, shiftNote, h("span.grow"), goldenMsg, heatToggle()),
    h("div.live-layout",
      cameras,
      h("aside.live-aside",
        h("section.panel.alarms-panel", h("h2", "Alarms"), alarms),
        h("section.panel.strip-panel", h("h2", "Last rejects"), strip),
        h("section.panel.feed-panel",
          h("div.row", { style: "justify-content:space-between" }, h("h2", "Verdicts"), conn),
          feed))));

  const tiles = new Map();
  let shift = null;

  // ---- cameras ----
  // A tile shows the camera's picture and, beside it, the verdict that
  // picture belongs to: the caption is read from the frame's own response
  // (its X-Linesight-Verdict header), never from a newer verdict on the
  // stream, so the part named is always the part shown.
  function tile(id, mode) {
    let t = tiles.get(id);
    if (t) {
      if (mode && !t.mode) addTrigger(t, mode);
      return t;
    }
    // No picture yet: the tile is black and says so (no broken-image icon).
    const img = h("img.missing", { alt: "" });
    const badge = verdictBadge("", ".big");
    const waiting = h("div.waiting", "waiting for first part");
    const info = h("div.caption", h("span", "—"));
    const meta = h("div.meta", info);
    const frameBox = h("div.frame", img, waiting, h("div.overlay", h("span.name", id), badge));
    const el = h("article.camera", { dataset: { camera: id } }, frameBox, meta);
    t = { id, el, frameBox, img, badge, waiting, meta, info, mode: "", loading: false, pending: false, lastFetch: 0, url: "" };
    tiles.set(id, t);
    cameras.append(el);
    if (canEdit()) {
      t.meta.append(h("button.golden", { type: "button", title: "Use this frame as a golden sample of the camera's class set", onclick: () => useAsGolden(t) }, "Golden"));
    }
    if (mode) addTrigger(t, mode);
    refreshFrame(t);
    return t;
  }

  function addTrigger(t, mode) {
    t.mode = mode;
    if (mode === "triggered" && canOperate()) {
      t.meta.append(h("button.trigger", { type: "button", onclick: () => triggerPart(t.id) }, "Trigger"));
    }
  }

  // refreshFrame loads the camera's picture with its verdict, at most one
  // request in flight and one every FRAME_EVERY_MS, and swaps picture and
  // caption together once the picture has decoded, so it never blanks.
  function refreshFrame(t) {
    if (t.loading) { t.pending = true; return; }
    const wait = t.lastFetch + FRAME_EVERY_MS - Date.now();
    if (wait > 0) { t.pending = true; setTimeout(() => { if (t.pending) { t.pending = false; refreshFrame(t); } }, wait); return; }
    t.loading = true;
    t.lastFetch = Date.now();
    loadFrame(t).catch((err) => console.warn(`frame of ${t.id}:`, err)).finally(() => {
      t.loading = false;
      if (t.pending) { t.pending = false; refreshFrame(t); }
    });
  }

  async function loadFrame(t) {
    const resp = await fetch(url(`/cameras/${encodeURIComponent(t.id)}/frame.jpg`), { cache: "no-store", credentials: "same-origin" });
    const v = frameVerdict(resp);
    if (!resp.ok) {
      // 404 before the first verdict; 404 with a verdict that has no picture (MISSED).
      if (resp.status === 404 && v) showOnTile(t, v, null);
      return;
    }
    if (!v) return;
    const size = frameSize(resp);
    const src = URL.createObjectURL(await resp.blob());
    const next = h("img", { alt: `frame of ${t.id}, ${caption(v)}` });
    next.src = src;
    try { await next.decode(); } catch { URL.revokeObjectURL(src); return; }
    showOnTile(t, v, next, src, size);
  }

  // frameSize is the size of the frame before the live view scaled it: the
  // anomaly map's window and box are in its pixels.
  function frameSize(resp) {
    const m = (resp.headers.get("X-Linesight-Frame-Size") || "").match(/^(\d+)x(\d+)$/);
    return m ? { w: Number(m[1]), h: Number(m[2]) } : null;
  }

  function frameVerdict(resp) {
    const raw = resp.headers.get("X-Linesight-Verdict");
    if (!raw) return null;
    try { return JSON.parse(decodeURIComponent(raw)); } catch { return null; }
  }

  // showOnTile puts a picture (or none) and its verdict on the tile at once.
  function showOnTile(t, v, img, src, size) {
    if (img) {
      t.img.replaceWith(img);
      t.img = img;
    } else {
      t.img.classList.add("missing");
    }
    t.shown = v;
    // The map belongs to this picture: it is replaced (or removed) with it.
    attach(t.frameBox, img || t.img, v.anomaly, img ? v.anomaly_map : null, size);
    if (t.url) URL.revokeObjectURL(t.url);
    t.url = src || "";
    fill(t.waiting, img ? "" : `${v.outcome}: no picture`);
    t.waiting.classList.toggle("hidden", !!img);
    t.el.className = `camera ${v.outcome}`;
    t.el.dataset.seq = v.seq;
    t.el.dataset.part = v.part_id || "";
    const badge = verdictBadge(v.outcome, ".big");
    t.badge.replaceWith(badge);
    t.badge = badge;
    fill(t.info,
      h("span.part", v.part_id ? `part ${v.part_id}` : `#${v.seq}`),
      h("span", v.class ? `${v.class} ${verdictScore(v)}` : (v.reason || "")),
      h("span", ms(v.latency_ns)));
  }

  // ---- golden samples ----
  let classes = null;
  async function useAsGolden(t) {
    fill(goldenMsg);
    try {
      classes = classes || await get("/classes");
      const set = (classes.camera_sets || {})[t.id];
      if (!set) throw new Error(`no class set for camera ${t.id}`);
      if (!confirm(`Use ${t.id}'s current frame as a golden sample of set ${set}?`)) return;
      await post(`/golden/${encodeURIComponent(set)}/from-live/${encodeURIComponent(t.id)}`, {});
      fill(goldenMsg, h("span.ok", `golden sample added to ${set}`));
    } catch (err) {
      fill(goldenMsg, h("span.error", `golden sample: ${err.message}`));
    }
  }

  // ---- last rejects ----
  // The strip is the appliance's list of the newest FAIL and UNCERTAIN
  // parts (with their own pictures, kept whatever the frame rate), read
  // again when the stream announces one.
  let stripLoading = false, stripAgain = false;
  async function loadStrip() {
    if (stripLoading) { stripAgain = true; return; }
    stripLoading = true;
    try {
      const list = await get("/live/rejects", { onUnauthorized: false });
      showStrip(list || []);
    } catch { /* the next reject tries again */ }
    stripLoading = false;
    if (stripAgain) { stripAgain = false; loadStrip(); }
  }

  const stripCards = new Map(); // reject id -> card, so pictures are not fetched twice
  function showStrip(list) {
    if (!list.length) { fill(strip, h("li.muted.empty", "No FAIL or UNCERTAIN parts yet")); stripCards.clear(); return; }
    const cards = list.map((r) => stripCards.get(r.id) || stripCard(r));
    stripCards.clear();
    for (const [i, r] of list.entries()) stripCards.set(r.id, cards[i]);
    fill(strip, cards);
  }

  function stripCard(r) {
    const img = h("img", { src: r.thumb_url, alt: `${r.outcome} ${r.class || ""} on ${r.camera}` });
    const pic = h("div.pic", img);
    attach(pic, img, r.anomaly, r.anomaly_map, { w: r.frame_width, h: r.frame_height });
    return h("li", { dataset: { outcome: r.outcome, camera: r.camera, seq: r.seq, part: r.part_id || "" }, title: `${r.camera} · ${r.part_id ? "part " + r.part_id : "#" + r.seq}` },
      pic,
      h("div.cap", verdictBadge(r.outcome), h("span.cls", r.class || r.reason || "")),
      h("div.cap.muted", h("span.score", verdictScore(r)), h("small", time(r.captured_at))));
  }

  // ---- feed ----
  function addToFeed(v, fresh = true) {
    // The class has the row's full width below the camera and part.
    const li = h(`li${fresh ? ".new" : ""}`, { dataset: { outcome: v.outcome, camera: v.camera, part: v.part_id || "" } },
      verdictBadge(v.outcome),
      h("span.what",
        h("span.where", h("span", `${v.camera} · ${v.part_id || "#" + v.seq}`), h("small.muted", time(v.captured_at))),
        v.class || v.reason ? h("span.cls", v.class || v.reason) : null));
    feed.prepend(li);
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
  }

  function onVerdict(v) {
    refreshFrame(tile(v.camera));
    addToFeed(v);
    if (v.outcome === "FAIL" || v.outcome === "UNCERTAIN") loadStrip();
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
    // A picture shown after its verdict (it came sooner than the live
    // frame rate allows): load it now.
    frame: (f) => refreshFrame(tile(f.camera)),
    alarms: showAlarms,
    open: () => { fill(conn, "● live"); conn.className = "live"; loadShift(); },
    error: () => { fill(conn, "reconnecting…"); conn.className = "muted"; },
  });

  applyHeat();
  showFigures();
  loadShift();
  loadAlarms();
  loadStrip();
  try {
    for (const c of await get("/cameras")) tile(c.id, c.mode);
  } catch { /* the status poll adds the cameras */ }
  try {
    const recent = await get("/history?limit=20", { onUnauthorized: false });
    for (const r of (recent.records || []).reverse()) addToFeed(r, false);
  } catch { /* kiosk: the feed fills as verdicts arrive */ }
  // The shift total is authoritative; re-read it now and then.
  const timer = setInterval(loadShift, 60000);

  return () => { events.close(); stopStatus(); clearInterval(timer); };
}

function caption(v) {
  return `${v.outcome}${v.class ? " " + v.class + " " + score(v.confidence) : ""} ${v.part_id ? "part " + v.part_id : "#" + v.seq}`;
}

function figure(label, value, cls, key) {
  return h(`div.figure${cls ? "." + cls : ""}`, { dataset: { figure: key } }, h("div.label", label), h("div.value", value));
}

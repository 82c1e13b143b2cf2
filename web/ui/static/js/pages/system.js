// System: model, variant, provider, warm-up, versions, cameras, broker,
// outbox, journal and disk.

import { h, fill, bytes, dateTime, duration, ms, num, pct, errorBox } from "../dom.js";
import { get, post } from "../api.js";
import { canEdit, canOperate } from "../session.js";
import { latest } from "../status.js";

export async function render(root) {
  const body = h("div.grid#system", { style: "grid-template-columns:repeat(auto-fit,minmax(320px,1fr))" });
  const fw = firmwarePanel();
  const history = h("div#alarm-history");
  const historyPanel = h("section.panel", h("h2", "Alarm history (24 h)"), history);
  fill(root, body, fw.panel, canOperate() ? historyPanel : null);

  // Raised, acknowledged and cleared alarms, from the journal.
  async function loadHistory() {
    if (!canOperate()) return;
    try {
      const events = await get("/alarms/history?limit=100");
      fill(history, events.length ? h("table", h("thead", h("tr", h("th", "When"), h("th", "Event"), h("th", "Alarm"), h("th", "Message"), h("th", "By"))),
        h("tbody", events.map((e) => h("tr", h("td", h("small", dateTime(e.at))), h("td", h(`span.sev.${e.severity}`, e.event)),
          h("td", e.camera ? `${e.kind} (${e.camera})` : e.kind), h("td", h("small", e.message)), h("td", e.by || ""))))) : h("p.muted", "No alarm in the last 24 hours."));
    } catch (err) {
      fill(history, errorBox(err));
    }
  }

  async function load() {
    let s;
    try {
      s = await get("/system");
    } catch (err) {
      fill(body, errorBox(err));
      return;
    }
    const kv = (...pairs) => h("dl.kv", pairs.filter(Boolean).map(([k, v]) => [h("dt", k), h("dd", v ?? "—")]));
    const m = s.model || {}, w = s.warmup || {}, d = s.defects || {}, b = s.broker || {}, o = s.outbox || {};
    const disk = s.disk || {}, j = s.journal || {};
    // How long the warm-up took is in the status the top bar polls.
    const warmupNs = w.took_ns || (latest() || {}).warmup_ns;
    fill(body,
      h("section.panel", h("h2", "Appliance"), kv(
        ["Line", s.line], ["State", h(`span.state.${s.state}`, s.state)],
        s.degraded?.length ? ["Degraded", h("span#system-degraded.state.failed", s.degraded.join("; "))] : null,
        ["Version", s.version], ["Go", s.go_version],
        ["Config hash", h("code#system-config-hash", s.config_hash)],
        ["Started", dateTime(s.started_at)], s.ready_at ? ["Ready", dateTime(s.ready_at)] : null,
        ["Warm-up", `${w.state || "—"}${warmupNs ? " in " + ms(warmupNs) : ""}`])),
      h("section.panel", h("h2", "Model"), kv(
        ["Bundle", h("code", m.bundle)], ["Variant", m.variant], ["Provider", m.provider],
        ["Digest", h("code", m.digest)],
        // The bundle's provenance marks a synthetic (random-weight) model.
        m.synthetic ? ["Weights", h("div.error#system-weights", "random: a synthetic test model, its verdicts mean nothing")] : null)),
      h("section.panel", h("h2", "Defect classes"), kv(
        ["Defects hash", h("code#system-defects-hash", d.defects_hash)], ["Loaded", dateTime(d.loaded_at)],
        ["Reload error", d.error ? h("span.error", d.error) : "none"])),
      h("section.panel", h("h2", "Broker and outbox"), kv(
        ["MQTT", b.configured ? (b.connected ? h("span.state.ready", "connected") : h("span.state.failed", "disconnected")) : "not configured"],
        ["Published", b.configured ? num(b.published) : "—"],
        // Nothing is queued without a broker: no outbox to show.
        ["Outbox", b.configured ? `${num(o.pending)} pending${o.limit ? " of " + num(o.limit) : ""}` : "—"],
        ["Expired", b.configured ? `${num(o.expired)} dropped unpublished (older than ${duration(o.max_age_ns)})` : "—"])),
      h("section.panel", h("h2", "Storage"), kv(
        ["Data", h("code", disk.path)],
        ["Disk", disk.total_bytes ? `${bytes(disk.free_bytes)} free of ${bytes(disk.total_bytes)} (${pct(disk.used_fraction, 0)} used)` : "—"],
        ["Journal", `${num(j.written)} written, last id ${num(j.last_id)}, ${num(j.images_kept)} images`],
        j.held || j.not_journaled || j.unjournaled
          ? ["Not journaled", `${num(j.held)} waiting to commit, ${num(j.unjournaled)} published unjournaled, ${num(j.not_journaled)} lost`]
          : null,
        j.evicted_records ? ["Evicted for space", `${num(j.evicted_records)} oldest records`] : null)),
      h("section.panel", { style: "grid-column:1/-1" }, h("h2", "Cameras"),
        h("div", { style: "overflow-x:auto" }, h("table",
          h("thead", h("tr", h("th", "Camera"), h("th", "Mode"), h("th", "State"), h("th.num", "FPS"), h("th", "Last frame"), h("th", "Last error"))),
          h("tbody", (s.cameras || []).map((c) => h("tr",
            h("td", c.id), h("td", c.mode), h("td", h(`span.state.${c.state === "connected" ? "ready" : "failed"}`, c.state)),
            h("td.num", c.fps !== undefined ? Number(c.fps).toFixed(1) : "—"), h("td", dateTime(c.last_frame)),
            h("td", c.last_error || ""))))))));
  }

  await load();
  await fw.load();
  await loadHistory();
  const timer = setInterval(() => { load(); loadHistory(); }, 5000);
  return () => { clearInterval(timer); fw.stop(); };
}

// The firmware update panel: the form (engineers and admins) stays as
// typed while the status under it refreshes, every second during an
// install.
function firmwarePanel() {
  const status = h("div#firmware-status");
  const msg = h("div#firmware-msg");
  const source = h("input#firmware-source", { type: "text", placeholder: "/data/linesight/linesight-1.2.0.raucb or https://…", style: "flex:1;min-width:260px" });
  const start = h("button.primary#firmware-start", "Install");
  start.addEventListener("click", async () => {
    if (!source.value.trim()) return;
    if (!window.confirm(`Install the firmware bundle ${source.value.trim()}? The box starts it at the next reboot.`)) return;
    start.disabled = true;
    try {
      await post("/system/update", { source: source.value.trim() });
      fill(msg, h("span.ok", "started"));
    } catch (err) {
      fill(msg, errorBox(err));
    } finally {
      start.disabled = false;
    }
    await load();
  });
  const panel = h("section.panel#firmware", { style: "margin-top:12px" }, h("h2", "Firmware update"),
    canEdit()
      ? h("div.row", source, start)
      : h("p.muted", "Installing firmware needs the engineer role."),
    msg, status);
  let timer = null;
  async function load() {
    if (!canOperate()) return;
    let st;
    try {
      st = await get("/system/update");
    } catch (err) {
      fill(status, errorBox(err));
      return;
    }
    const p = st.progress || {};
    const last = st.last;
    fill(status,
      st.running
        ? h("div.row", { dataset: { running: "true" } }, h("div.progress", { title: p.message || "" }, h("span", { style: `width:${p.percent || 0}%` })),
          h("small#firmware-progress", `${p.percent || 0}% ${p.message || ""} (${st.source}, by ${st.by})`))
        : null,
      last ? h("p#firmware-last", { dataset: { outcome: last.outcome } }, `Last install: ${last.outcome}`,
        last.version ? ` — version ${last.version} in ${last.slot}: reboot to start it` : "", last.error ? h("span.error", ` ${last.error}`) : "") : null,
      h("table#firmware-history",
        h("thead", h("tr", h("th", "When"), h("th", "Who"), h("th", "Version"), h("th", "Slot"), h("th", "Outcome"), h("th", "Error"))),
        h("tbody", (st.history || []).map((e) => h("tr",
          h("td", dateTime(e.at)), h("td", e.user), h("td", e.version || ""), h("td", e.slot || ""),
          h("td", e.outcome), h("td", e.error || ""))))));
    clearTimeout(timer);
    timer = setTimeout(load, st.running ? 1000 : 5000);
  }
  return { panel, load, stop: () => clearTimeout(timer) };
}

// System: model, variant, provider, warm-up, versions, cameras, broker,
// outbox, journal and disk.

import { h, fill, bytes, dateTime, duration, ms, num, pct, errorBox } from "../dom.js";
import { get } from "../api.js";
import { latest } from "../status.js";

export async function render(root) {
  const body = h("div.grid#system", { style: "grid-template-columns:repeat(auto-fit,minmax(320px,1fr))" });
  fill(root, body);

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
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}

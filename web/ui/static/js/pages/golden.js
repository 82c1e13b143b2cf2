// Golden samples: per class set, the images of good parts its anomaly map
// compares frames with; the threshold calibrated from them and each
// sample's leave-one-out score; the memory bank's build progress. Engineers
// add samples from files (and from the live view and History) and remove them.

import { h, fill, num, dateTime, errorBox } from "../dom.js";
import { get, post, del, url } from "../api.js";
import { canEdit } from "../session.js";

// While a bank builds, the page reads the state again this often.
const POLL_MS = 1500;

export async function render(root, ctx) {
  const only = ctx.args[0] || "";
  const tabs = h("nav.row#golden-sets", { "aria-label": "Class sets" });
  const body = h("div#golden");
  const msg = h("div#golden-msg", { "aria-live": "polite" });
  fill(root, h("section.panel", h("div.row", { style: "justify-content:space-between" }, h("h2", "Golden samples"), tabs),
    h("p.muted", "Pictures of good parts. A set with golden samples compares each frame's patches with theirs; " +
      "the threshold (auto) is calibrated from the samples' leave-one-out scores (docs/anomaly.md)."), msg), body);

  let timer = null;
  let stopped = false;

  async function load() {
    clearTimeout(timer);
    let data;
    try {
      data = await get("/golden");
    } catch (err) {
      fill(body, errorBox(err));
      return;
    }
    if (stopped) return;
    const sets = data.sets || [];
    fill(tabs, h("a.button", { href: "#/golden", "aria-current": only ? null : "page" }, "All sets"),
      sets.map((s) => h("a.button", { href: `#/golden/${encodeURIComponent(s.set)}`, "aria-current": s.set === only ? "page" : null }, s.set)));
    const shown = only ? sets.filter((s) => s.set === only) : sets;
    fill(body, shown.length ? shown.map(setPanel) : h("p.panel.muted", only ? `No class set ${only}.` : "No class sets."));
    if (sets.some((s) => s.status === "building")) timer = setTimeout(load, POLL_MS);
  }

  function setPanel(s) {
    const edit = canEdit();
    const n = (s.samples || []).length;
    const file = h("input", { type: "file", accept: "image/jpeg,image/png", multiple: true, "aria-label": `Add images to ${s.set}`, dataset: { set: s.set } });
    const add = h("button.primary", { type: "button", onclick: () => upload(s.set, file) }, "Add");
    const p = s.progress || {};
    const status = h(`span.status-${s.status}`, { dataset: { status: s.status } }, s.status);
    const progress = s.status === "building" && p.total
      ? h("span.row", h("div.progress", { title: `${p.done} of ${p.total}` }, h("span", { style: `width:${(100 * p.done / p.total).toFixed(0)}%` })), h("small", `${num(p.done)} / ${num(p.total)}`))
      : null;
    return h("section.panel.golden-set", { dataset: { set: s.set } },
      h("div.row", { style: "justify-content:space-between" },
        h("h3", { style: "margin:0" }, s.set, s.enabled ? null : h("small.muted", "  golden samples not enabled for this set (anomaly: golden: true)")),
        h("span.row", "Bank ", status, progress)),
      h("dl.kv", { style: "margin-top:8px" },
        h("dt", "Threshold"), h("dd.threshold", { dataset: { value: s.threshold ?? "" } },
          s.threshold === null || s.threshold === undefined ? "— (needs samples)" : Number(s.threshold).toFixed(4),
          s.auto ? h("small.muted", " auto: calibrated from the samples") : h("small.muted", " set in the defect-class file")),
        h("dt", "Samples"), h("dd.count", `${num(n)} of at most 64`),
        coreset(s.coreset),
        s.error ? [h("dt", "Error"), h("dd.error", s.error)] : null),
      edit ? h("div.row", { style: "margin-top:8px" }, file, add) : h("p.muted", "Adding and removing samples needs the engineer role."),
      n ? h("ul.samples", s.samples.map((x) => sample(s, x, edit))) : h("p.muted", "No golden samples yet."));
  }

  // The bank's bound: shown only where patches were dropped.
  function coreset(layers) {
    const cut = (layers || []).filter((l) => l.kept < l.of);
    if (!cut.length) return null;
    return [h("dt", "Bank"), h("dd.coreset", cut.map((l) =>
      h("div", `layer ${l.layer}: ${num(l.kept)} of ${num(l.of)} patches kept (coreset), coverage ${l.coverage.toFixed(3)}, map raised by at most ${l.max_rise.toFixed(3)}`)))];
  }

  function sample(s, x, edit) {
    return h("li", { dataset: { id: x.id } },
      h("img", { src: url(`/golden/${encodeURIComponent(s.set)}/${encodeURIComponent(x.id)}.jpg`), alt: `golden sample ${x.id}`, loading: "lazy" }),
      h("div.row", { style: "justify-content:space-between; gap:4px" },
        h("span.loo", { title: "leave-one-out score: this sample against the others", dataset: { value: x.loo_score ?? "" } },
          "LOO ", x.loo_score === null || x.loo_score === undefined ? "—" : Number(x.loo_score).toFixed(4)),
        edit ? h("button.remove", { type: "button", onclick: () => remove(s.set, x.id) }, "Remove") : null),
      h("small.muted", `${x.source}${x.record_id ? " #" + x.record_id : ""} · ${x.added_by || "—"}`),
      h("small.muted", dateTime(x.added_at)));
  }

  async function upload(set, input) {
    fill(msg);
    const files = [...(input.files || [])];
    if (!files.length) { fill(msg, errorBox("Choose one or more JPEG or PNG images first.")); return; }
    try {
      for (const f of files) await post(`/golden/${encodeURIComponent(set)}`, f);
      fill(msg, h("div.ok", `Added ${files.length} to ${set}.`));
    } catch (err) {
      fill(msg, errorBox(err));
    }
    input.value = "";
    load();
  }

  async function remove(set, id) {
    if (!confirm(`Remove golden sample ${id} from ${set}?`)) return;
    fill(msg);
    try {
      await del(`/golden/${encodeURIComponent(set)}/${encodeURIComponent(id)}`);
    } catch (err) {
      fill(msg, errorBox(err));
    }
    load();
  }

  await load();
  return () => { stopped = true; clearTimeout(timer); };
}

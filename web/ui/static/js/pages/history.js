// History: the journal, filtered by time, camera, verdict, class and part id,
// with thumbnails, the full image with its anomaly map and its scores, CSV
// export and paging. An engineer marks a verdict right or wrong with the
// part's true class, and adds good parts as golden samples.

import { h, fill, verdictBadge, score, ms, dateTime, errorBox, toLocalInput } from "../dom.js";
import { get, post, put, del, query, url } from "../api.js";
import { canEdit } from "../session.js";
import { attach, heatToggle, applyHeat, describe, verdictScore } from "../anomaly.js";

const PAGE = 50;

export async function render(root, ctx) {
  const now = new Date();
  const f = {
    from: h("input#f-from", { type: "datetime-local", value: toLocalInput(new Date(now - 24 * 3600e3)) }),
    to: h("input#f-to", { type: "datetime-local" }),
    camera: h("select#f-camera", h("option", { value: "" }, "any")),
    outcome: h("select#f-outcome", ["", "PASS", "FAIL", "UNCERTAIN", "MISSED"].map((o) => h("option", { value: o }, o || "any"))),
    class: h("select#f-class", h("option", { value: "" }, "any")),
    part: h("input#f-part", { type: "search", placeholder: "part id", size: 12 }),
  };
  const csv = h("a.button#csv", { download: "linesight-history.csv" }, "Export CSV");
  const table = h("table.history-table#history");
  const pager = h("div.row");
  const msg = h("div");
  const dialog = h("dialog#detail");
  const form = h("form.filters.panel#history-filters",
    h("label", "From", f.from), h("label", "To", f.to), h("label", "Camera", f.camera),
    h("label", "Verdict", f.outcome), h("label", "Class", f.class), h("label", "Part id", f.part),
    h("button.primary", { type: "submit" }, "Filter"), csv);
  fill(root, form, msg, h("div.panel", { style: "margin-top:12px; overflow-x:auto" }, table, pager), dialog);

  // Options for camera and class come from the cameras and the defect file.
  get("/cameras").then((cams) => f.camera.append(...cams.map((c) => h("option", { value: c.id }, c.id)))).catch(() => {});
  let classes = null;
  const classesLoaded = get("/classes").then((c) => {
    classes = c;
    const names = new Set(["anomaly"]);
    for (const s of c.sets || []) for (const k of s.classes || []) names.add(k.name);
    f.class.append(...[...names].sort().map((n) => h("option", { value: n }, n)));
  }).catch(() => {});
  applyHeat();

  let cursors = [""]; // cursors[i] is the cursor of page i
  let pageNo = 0;

  function params() {
    const iso = (el) => (el.value ? new Date(el.value).toISOString() : "");
    return {
      from: iso(f.from), to: iso(f.to), camera: f.camera.value, outcome: f.outcome.value,
      class: f.class.value, part_id: f.part.value.trim(),
    };
  }

  async function load() {
    const p = params();
    csv.href = url("/history.csv" + query(p));
    fill(msg);
    let page;
    try {
      page = await get("/history" + query({ ...p, limit: PAGE, cursor: cursors[pageNo] }));
    } catch (err) {
      fill(msg, errorBox(err));
      return;
    }
    const recs = page.records || [];
    fill(table,
      h("thead", h("tr", h("th", "Image"), h("th", "Captured"), h("th", "Camera"), h("th", "Part"), h("th", "Verdict"),
        h("th", "Class"), h("th.num", "Conf."), h("th.num.hide-phone", "Latency"))),
      h("tbody", recs.length ? recs.map(row) : h("tr", h("td", { colspan: 8 }, h("span.muted", "No inspections match.")))));
    if (page.next) cursors[pageNo + 1] = page.next;
    fill(pager,
      h("button#prev", { type: "button", disabled: pageNo === 0, onclick: () => { pageNo--; load(); } }, "← Newer"),
      h("span.muted", `Page ${pageNo + 1}`),
      h("button#next", { type: "button", disabled: !page.next, onclick: () => { pageNo++; load(); } }, "Older →"));
  }

  function row(r) {
    return h("tr", { dataset: { id: r.id, outcome: r.outcome }, tabindex: 0, onclick: () => show(r), onkeydown: (e) => e.key === "Enter" && show(r) },
      h("td", r.has_image ? h("img.thumb", { src: r.thumb_url, alt: `record ${r.id}`, loading: "lazy" }) : h("span.muted", "—")),
      h("td", dateTime(r.captured_at)),
      h("td", r.camera),
      h("td", r.part_id || h("span.muted", "—")),
      h("td", verdictBadge(r.outcome)),
      h("td", r.class || r.reason || "", r.label ? h("small.label-mark", { title: labelText(r.label) }, r.label.correct ? " ✓" : ` ✗ ${r.label.class}`) : null),
      h("td.num.conf", { dataset: { value: r.class ? r.confidence : "" } }, r.class ? score(r.confidence) : ""),
      h("td.num.hide-phone", ms(r.latency_ns)));
  }

  // show opens a record; it reads the record again, so a label given
  // since the page was listed is there.
  async function show(listed) {
    let r = listed;
    try {
      r = await get(`/history/${listed.id}`);
    } catch (err) {
      if (!listed.camera) { fill(msg, errorBox(err)); return; } // nothing listed to fall back on
    }
    await classesLoaded;
    showRecord(r);
    if (!dialog.open) dialog.showModal();
  }

  function showRecord(r) {
    const scores = [...(r.scores || [])].sort((a, b) => b.score - a.score);
    const scoreRow = (s) => h("tr",
      h("td", s.class),
      h("td", { style: "width:45%" }, h("div.bar", h("span", { style: `width:${(100 * s.score).toFixed(1)}%` }))),
      h("td.num.conf", { dataset: { value: s.score } }, score(s.score)));
    const facts = h("dl.kv",
      h("dt", "Record"), h("dd", String(r.id)),
      h("dt", "Camera frame"), h("dd", `${r.camera} #${r.seq}`),
      h("dt", "Part"), h("dd", r.part_id || "—"),
      h("dt", "Captured"), h("dd", dateTime(r.captured_at)),
      h("dt", "Action"), h("dd", r.action || "—"),
      r.reason ? [h("dt", "Reason"), h("dd", r.reason)] : null,
      r.anomaly ? [h("dt", "Anomaly"), h("dd#detail-anomaly", describe(r.anomaly))] : null,
      h("dt", "Latency"), h("dd", ms(r.latency_ns)),
      h("dt", "Published"), h("dd", r.outbox_dropped
        ? h("span.error", `never: ${r.outbox_dropped === "expired" ? "older than mqtt.outbox_max_age" : r.outbox_dropped} (${dateTime(r.outbox_dropped_at)})`)
        : dateTime(r.published_at)),
      // The record's config_hash is the defect file's hash.
      h("dt", "Defects hash"), h("dd", h("code", r.config_hash || "—")),
      h("dt", "Model"), h("dd", h("code", r.model_digest || "—")));
    let image;
    if (r.has_image) {
      const img = h("img", { src: r.image_url, alt: `image of record ${r.id}` });
      image = h("div.pic#detail-pic", img);
      attach(image, img, r.anomaly, r.anomaly_map);
    } else {
      image = h("p.muted", "No image stored for this inspection.");
    }
    fill(dialog,
      h("div.row", { style: "justify-content:space-between" },
        h("h2#detail-title", { style: "margin:0" }, verdictBadge(r.outcome), ` Record ${r.id} · ${r.camera}${r.part_id ? " · part " + r.part_id : ""}`,
          r.class === "anomaly" ? h("small.muted", ` ${verdictScore(r)}`) : null),
        h("div.row", r.anomaly_map ? heatToggle() : null, h("button", { type: "button", onclick: () => dialog.close() }, "Close"))),
      h("div.detail", { style: "margin-top:10px" },
        image,
        h("div.grid", { style: "align-content:start" },
          feedback(r),
          h("table", h("tbody", scores.map(scoreRow))), facts)));
  }

  // ---- labels and golden samples ----
  // The set the record's camera scores with now, and its classes.
  function setOf(r) {
    const name = classes && (classes.camera_sets || {})[r.camera];
    return name ? (classes.sets || []).find((s) => s.name === name) : null;
  }

  function feedback(r) {
    const set = setOf(r);
    const good = set ? ((set.classes || []).find((k) => k.good) || {}).name : "";
    const msg = h("div#label-msg", { "aria-live": "polite" });
    const shown = r.label
      ? h("p.label-shown#label-shown", { dataset: { correct: String(r.label.correct), class: r.label.class } }, labelText(r.label))
      : h("p.muted#label-shown", "Not labelled.");
    const box = h("section.panel#feedback", h("h2", "Feedback"), shown);
    const edit = canEdit() && r.outcome !== "MISSED";
    if (edit) {
      const trueClass = h("select#label-class", { "aria-label": "True class" },
        set ? [...(set.classes || []).map((k) => k.name), "anomaly"].filter((n, i, a) => a.indexOf(n) === i)
          .map((n) => h("option", { value: n, selected: n === (r.label ? r.label.class : r.class) }, n)) : h("option", { value: "" }, "—"));
      const done = async (fn) => {
        fill(msg);
        try {
          await fn();
          const fresh = await get(`/history/${r.id}`);
          showRecord(fresh);
          load();
        } catch (err) {
          fill(msg, errorBox(err));
        }
      };
      const right = () => done(() => put(`/records/${r.id}/label`, { correct: true, class: r.class }));
      const wrong = () => done(() => put(`/records/${r.id}/label`, { correct: false, class: trueClass.value }));
      box.append(h("div.label-form",
        r.outcome === "UNCERTAIN" ? null : h("button#label-right", { type: "button", onclick: right }, `Right (${r.class})`),
        h("label", "True class", trueClass),
        h("button#label-wrong", { type: "button", onclick: wrong }, "Wrong: it is this class"),
        r.label ? h("button#label-clear", { type: "button", onclick: () => done(() => del(`/records/${r.id}/label`)) }, "Clear label") : null));
      const isGood = r.outcome === "PASS" || (r.label && good && r.label.class === good);
      if (set && r.has_image) {
        if (isGood) {
          box.append(h("div.row", { style: "margin-top:8px" },
            h("button#golden-add", { type: "button", onclick: () => done(() => post(`/golden/${encodeURIComponent(set.name)}/from-record/${r.id}`, {})) },
              `Add as golden sample of ${set.name}`)));
        } else if (good) {
          // A false reject confirmed good becomes a golden sample in one click.
          box.append(h("div.row", { style: "margin-top:8px" },
            h("button#golden-good", { type: "button", onclick: () => done(async () => {
              await put(`/records/${r.id}/label`, { correct: false, class: good });
              await post(`/golden/${encodeURIComponent(set.name)}/from-record/${r.id}`, {});
            }) }, `It is ${good}: label it and add as golden sample`)));
        }
      }
    }
    box.append(msg);
    return box;
  }

  form.addEventListener("submit", (e) => { e.preventDefault(); cursors = [""]; pageNo = 0; load(); });
  await load();
  // #/history/<id> opens that record (links from other pages).
  if (/^\d+$/.test(ctx.args[0] || "")) show({ id: ctx.args[0] });
}

function labelText(l) {
  return `${l.correct ? "Right" : "Wrong"}: true class ${l.class}, by ${l.by || "—"} ${dateTime(l.at)}`;
}

// Defect classes: the YAML file and its parsed classes; "try it" rescores the
// newest stored embeddings with the edited file and shows what would flip;
// save validates, writes and reloads; the audit log says who changed what.

import { h, fill, verdictBadge, score, num, dateTime, errorBox } from "../dom.js";
import { get, post, put } from "../api.js";
import { canEdit } from "../session.js";
import { refreshStatus } from "../status.js";
import { distributions } from "../distribution.js";

export async function render(root) {
  const editable = canEdit();
  const yaml = h("textarea.code#classes-yaml", { spellcheck: "false", "aria-label": "Defect classes YAML", readonly: !editable });
  const hash = h("code#classes-hash");
  const path = h("span.muted");
  const parsed = h("div#classes-parsed");
  const last = h("input#try-last", { type: "number", min: 1, max: 5000, value: 200, style: "width:7em" });
  const camera = h("select#try-camera", h("option", { value: "" }, "all cameras"));
  const comment = h("input#save-comment", { placeholder: "what changed and why", size: 30 });
  const msg = h("div#classes-msg", { "aria-live": "polite" });
  const preview = h("div#try-result");
  const audit = h("div#audit");
  const tryBtn = h("button#try", { type: "button", disabled: !editable }, "Try it");
  const saveBtn = h("button.primary#save", { type: "button", disabled: !editable }, "Save and reload");
  const revertBtn = h("button#revert", { type: "button" }, "Revert");
  let baseHash = "";
  const recipeSel = h("select#recipe-select", { "aria-label": "Recipe", disabled: !editable });
  const recipeBtn = h("button#recipe-apply", { type: "button", disabled: !editable }, "Change recipe");
  const recipeMsg = h("span#recipe-msg", { "aria-live": "polite" });
  const recipePanel = h("section.panel#recipe-panel", { hidden: true },
    h("h2", "Recipe"),
    h("div.row", h("label", "Active recipe", recipeSel), recipeBtn, recipeMsg),
    h("p.muted", "A change takes effect between two batches and is audited."));
  const distHolder = h("div");
  let dist = null;

  fill(root,
    h("div.classes-layout",
      h("section.panel",
        h("div.row", { style: "justify-content:space-between" }, h("h2", "Defect classes"), h("span", path, " · hash ", hash)),
        yaml,
        h("div.row", { style: "margin-top:8px" },
          h("label", "Last N inspections", last), h("label", "Camera", camera), tryBtn),
        h("div.row", { style: "margin-top:8px" }, h("label", { style: "flex:1" }, "Comment", comment), saveBtn, revertBtn),
        editable ? null : h("p.muted", "Viewing only: trying and saving need the engineer role."),
        msg),
      h("div.grid", { style: "align-content:start" },
        recipePanel,
        h("section.panel", h("h2", "Preview"), preview),
        h("section.panel", h("h2", "Parsed classes"), parsed),
        h("section.panel", h("h2", "Audit log"), audit))),
    distHolder);

  async function loadFile() {
    const c = await get("/classes");
    yaml.value = c.yaml;
    baseHash = c.hash;
    fill(hash, short(c.hash));
    hash.title = c.hash;
    hash.dataset.hash = c.hash;
    fill(path, c.path || "");
    showParsed(c);
  }

  function showParsed(c) {
    const mapping = Object.entries(c.cameras || {});
    const classRow = (k) => h("tr",
      h("td", k.good ? h("strong", `${k.name} (good)`) : k.name),
      h("td.num", k.threshold),
      h("td", h("details",
        h("summary", plural((k.prompts || []).length, "prompt")),
        h("ul", (k.prompts || []).map((p) => h("li", h("small", p)))))));
    const setBlock = (s) => h("div", { style: "margin-bottom:10px" },
      h("h3", { style: "margin:4px 0" }, s.name, h("small.muted", `  uncertain → ${s.uncertain || "—"}`)),
      h("table",
        h("thead", h("tr", h("th", "Class"), h("th.num", "Threshold"), h("th", "Prompts"))),
        h("tbody", (s.classes || []).map(classRow))));
    fill(parsed,
      (c.sets || []).map(setBlock),
      mapping.length ? h("p.muted", "Cameras: ", mapping.map(([cam, set]) => `${cam} → ${set}`).join(", ")) : null);
  }

  async function loadRecipe() {
    let r;
    try {
      r = await get("/recipe");
    } catch (e) {
      recipePanel.hidden = true;
      return;
    }
    recipePanel.hidden = !(r.recipes && r.recipes.length);
    fill(recipeSel, (r.recipes || []).map((n) => h("option", { value: n, selected: n === r.recipe }, n)));
    recipeSel.dataset.active = r.recipe;
  }

  recipeBtn.addEventListener("click", async () => {
    const name = recipeSel.value;
    fill(recipeMsg, "changing…");
    recipeBtn.disabled = true;
    try {
      await put("/recipe", { recipe: name });
      fill(recipeMsg, `active: ${name}`);
      await Promise.all([loadRecipe(), loadAudit(), refreshStatus()]);
    } catch (e) {
      fill(recipeMsg, errorBox(e));
    } finally {
      recipeBtn.disabled = !editable;
    }
  });

  async function loadAudit() {
    try {
      const rows = await get("/audit?limit=50");
      fill(audit, rows.length ? h("table", h("tbody", rows.map((a) => h("tr",
        h("td", h("small", dateTime(a.at))),
        h("td", a.user),
        h("td", h("code", a.action)),
        h("td", a.detail || "", (a.changes || []).length ? h("ul", a.changes.map((c) => h("li", h("small", c)))) : null,
          a.to_hash ? h("small.muted", ` ${short(a.from_hash)} → ${short(a.to_hash)}`) : null))))) : h("p.muted", "No changes yet."));
    } catch (err) {
      fill(audit, errorBox(err));
    }
  }

  async function tryIt() {
    fill(msg);
    fill(preview, h("p.muted", "Rescoring…"));
    tryBtn.disabled = true;
    try {
      const r = await post("/classes/try", { yaml: yaml.value, last: Number(last.value) || 200, camera: camera.value || undefined });
      const counts = (x) => h("span", ["pass", "fail", "uncertain", "missed"].map((k) => h("span", { style: "margin-right:10px" }, `${k} ${num(x[k])}`)));
      fill(preview,
        h("p", h("strong.flip#flipped", `${num(r.flipped)} of ${num(r.rescored)} verdicts would change`),
          r.skipped ? h("span.muted", ` (${num(r.skipped)} skipped)`) : null),
        h("dl.kv", h("dt", "Now"), h("dd", counts(r.before || {})), h("dt", "With this file"), h("dd", counts(r.after || {})),
          h("dt", "New hash"), h("dd", h("code", short(r.hash)))),
        (r.flips || []).length ? h("table#flips", h("thead", h("tr", h("th", "Record"), h("th", "Camera / part"), h("th", "Now"), h("th", "Would be"))),
          h("tbody", r.flips.map((f) => h("tr",
            h("td", h("a", { href: `#/history/${f.id}`, title: dateTime(f.captured_at) }, String(f.id))),
            h("td", `${f.camera} · ${f.part_id || ""}`),
            h("td", verdictBadge(f.from), ` ${f.from_class || ""}`),
            h("td", verdictBadge(f.to), ` ${f.to_class || ""} `, f.confidence ? h("span.conf", { dataset: { value: f.confidence } }, score(f.confidence)) : null))))) : null);
    } catch (err) {
      fill(preview);
      fill(msg, errorBox(err));
    } finally {
      tryBtn.disabled = !editable;
    }
  }

  async function save() {
    fill(msg);
    saveBtn.disabled = true;
    try {
      const r = await put("/classes", { yaml: yaml.value, base_hash: baseHash, comment: comment.value.trim() });
      fill(msg, h("div.ok#save-ok", `Saved and reloaded: ${short(r.previous_hash)} → ${short(r.hash)}`));
      comment.value = "";
      await loadFile();
      loadAudit();
      refreshStatus();
    } catch (err) {
      fill(msg, errorBox(err.status === 409 ? `${err.message}\nSomeone changed the file since you opened it: revert to see theirs.` : err));
    } finally {
      saveBtn.disabled = !editable;
    }
  }

  tryBtn.addEventListener("click", tryIt);
  saveBtn.addEventListener("click", save);
  revertBtn.addEventListener("click", async () => { fill(msg); fill(preview); await loadFile(); });
  // Tab inserts two spaces: YAML has no tabs.
  yaml.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey && !yaml.readOnly) {
      e.preventDefault();
      yaml.setRangeText("  ", yaml.selectionStart, yaml.selectionEnd, "end");
    }
  });

  get("/cameras").then((cams) => camera.append(...cams.map((c) => h("option", { value: c.id }, c.id)))).catch(() => {});
  try {
    await loadFile();
  } catch (err) {
    fill(msg, errorBox(err));
  }
  loadAudit();
  loadRecipe();
  try {
    dist = distributions(await get("/classes"));
    fill(distHolder, dist.el);
    await dist.load();
  } catch (err) {
    fill(distHolder, errorBox(err));
  }
  return () => { if (dist) dist.destroy(); };
}

function plural(n, word) {
  return `${num(n)} ${word}${n === 1 ? "" : "s"}`;
}

function short(hash) {
  return hash ? String(hash).replace(/^sha256:/, "").slice(0, 12) : "—";
}

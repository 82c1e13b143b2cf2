// Small DOM and formatting helpers shared by the pages.

// h builds an element: h("div.panel#id", {onclick, title, ...}, child, ...).
// Children may be strings, nodes, arrays, or null/false (skipped).
export function h(spec, attrs, ...children) {
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  const [, tag = "div", rest = ""] = spec.match(/^([a-z0-9-]*)(.*)$/i);
  const el = document.createElement(tag || "div");
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value" || k === "checked" || k === "selected") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// clear empties an element and fills it with children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function verdictBadge(outcome, extra = "") {
  const o = outcome || "—";
  return h(`span.verdict.${o.replace(/[^A-Z]/g, "") || "NONE"}${extra}`, o);
}

export function pct(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  return (100 * x).toFixed(digits) + "%";
}

// score shows a probability as a percentage with one decimal, rounded down,
// so a score below a class's threshold never reads as reaching it (0.9899 is
// "98.9%", never "99%"). The captions drawn on live frames do the same.
export function score(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  return (Math.floor(x * 1000 + 1e-9) / 10).toFixed(1) + "%";
}

export function num(n) {
  if (n === null || n === undefined) return "—";
  return Number(n).toLocaleString();
}

// ms formats a duration in nanoseconds as milliseconds.
export function ms(ns, digits = 0) {
  if (!ns && ns !== 0) return "—";
  const v = ns / 1e6;
  return (v < 10 && digits === 0 ? v.toFixed(1) : v.toFixed(digits)) + " ms";
}

export function time(t) {
  if (!t) return "—";
  const d = new Date(t);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 2000) return "—";
  return d.toLocaleTimeString([], { hour12: false });
}

export function dateTime(t) {
  if (!t) return "—";
  const d = new Date(t);
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 2000) return "—";
  return d.toLocaleString([], { hour12: false });
}

export function duration(ns) {
  let s = Math.floor(ns / 1e9);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); s -= mm * 60;
  return (d ? d + "d " : "") + `${hh}h ${String(mm).padStart(2, "0")}m ${String(s).padStart(2, "0")}s`;
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + u[i];
}

// toLocalInput formats a Date for <input type="datetime-local">.
export function toLocalInput(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function errorBox(err) {
  return h("div.error", { role: "alert" }, String(err && err.message ? err.message : err));
}

// Anomaly maps drawn over pictures (docs/dashboard.md, "Anomaly maps"): the
// heat map over the window of the picture the model saw, and the region box.
//
// A record's or live frame's anomaly_map is
//   {grid, values: [grid*grid ints 0..255, row-major], window: {x,y,w,h}, box?: {x,y,w,h}}
// in the pixels of the picture shown (the stored, oriented frame); values are
// the map quantised to 8 bits (255 = a map value of 1). The overlay is an SVG
// whose viewBox is that picture's size and which scales the way
// `object-fit: contain` does, so it stays on the picture at any size.

import { score } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const KEY = "linesight.heatmap";

// heatShown says whether heat maps are drawn (the operator's last choice,
// on by default). The region box is drawn either way.
export function heatShown() {
  try { return localStorage.getItem(KEY) !== "off"; } catch { return true; }
}

// showHeat remembers the choice and applies it to every overlay on screen.
export function showHeat(on) {
  try { localStorage.setItem(KEY, on ? "on" : "off"); } catch { /* private mode: this page only */ }
  applyHeat();
}

export function applyHeat() {
  document.documentElement.classList.toggle("no-heat", !heatShown());
  for (const box of document.querySelectorAll("input.heat-toggle")) box.checked = heatShown();
}

// heatToggle is the checkbox that switches heat maps on and off everywhere.
export function heatToggle() {
  const input = document.createElement("input");
  input.type = "checkbox";
  input.className = "heat-toggle";
  input.checked = heatShown();
  input.addEventListener("change", () => showHeat(input.checked));
  const label = document.createElement("label");
  label.className = "inline heat-label";
  label.append(input, " Heat map");
  return label;
}

// level is a map value (0..255) against the threshold in the same units.
// Below the threshold the map is cool and faint, above it warm and strong,
// so what made a part FAIL stands out whatever the map's range.
export function heatColour(v, threshold) {
  const thr = threshold > 0 && threshold < 1 ? threshold * 255 : 0;
  if (thr > 0 && v < thr) {
    const t = v / thr; // 0..1: blue to cyan, nearly clear
    return [0, Math.round(80 + 150 * t), 255, Math.round(255 * (0.06 + 0.3 * t))];
  }
  const span = thr > 0 ? 255 - thr : 255;
  const u = Math.min(1, Math.max(0, (v - thr) / span)); // 0..1: yellow to red
  return [255, Math.round(230 * (1 - u)), 0, Math.round(255 * (0.55 + 0.3 * u))];
}

// heatURL renders the grid as a grid x grid PNG (the browser smooths it
// when it is scaled onto the window).
export function heatURL(map, threshold) {
  const g = map.grid;
  const c = document.createElement("canvas");
  c.width = g;
  c.height = g;
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(g, g);
  for (let i = 0; i < g * g; i++) {
    const [r, gr, b, a] = heatColour(map.values[i] || 0, threshold);
    img.data.set([r, gr, b, a], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return c.toDataURL("image/png");
}

// valid says whether an anomaly_map can be drawn on a picture.
export function valid(map) {
  return !!(map && map.grid > 0 && Array.isArray(map.values) && map.values.length === map.grid * map.grid &&
    map.window && map.window.w > 0 && map.window.h > 0);
}

// overlay builds the SVG for a picture of width x height pixels. anomaly is
// the verdict's {score, threshold, region}; map its anomaly_map. Either may
// be missing: without a map nothing is drawn.
export function overlay(width, height, anomaly, map) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "anomaly-overlay");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  svg.setAttribute("aria-hidden", "true");
  if (!valid(map)) return svg;
  const threshold = anomaly && anomaly.threshold;
  const w = map.window;
  const heat = document.createElementNS(SVG, "image");
  heat.setAttribute("class", "heat");
  heat.setAttribute("href", heatURL(map, threshold));
  for (const [k, v] of Object.entries({ x: w.x, y: w.y, width: w.w, height: w.h })) heat.setAttribute(k, v);
  heat.setAttribute("preserveAspectRatio", "none");
  svg.append(heat);
  if (map.box && map.box.w > 0 && map.box.h > 0) {
    const b = map.box;
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("class", "region");
    for (const [k, v] of Object.entries({ x: b.x, y: b.y, width: b.w, height: b.h })) rect.setAttribute(k, v);
    svg.append(rect);
  }
  return svg;
}

// attach puts the overlay for (anomaly, map) over img inside holder (a
// positioned element that holds img), replacing an earlier one. size is
// the {w, h} of the picture the map's pixels refer to, when img is a scaled
// copy of it; by default img's own size.
export async function attach(holder, img, anomaly, map, size) {
  const ticket = (holder._overlayTicket || 0) + 1;
  holder._overlayTicket = ticket;
  for (const old of holder.querySelectorAll(":scope > .anomaly-overlay")) old.remove();
  if (!valid(map) || !img) return null;
  if (!(size && size.w > 0 && size.h > 0)) {
    if (!img.naturalWidth) {
      try { await img.decode(); } catch { return null; }
    }
    size = { w: img.naturalWidth, h: img.naturalHeight };
  }
  if (holder._overlayTicket !== ticket || !size.w) return null;
  const svg = overlay(size.w, size.h, anomaly, map);
  img.after(svg);
  return svg;
}

// verdictScore is how sure a verdict is, in words: a class's probability as
// a percentage, or an anomaly FAIL's score against its threshold (a map
// value, not a probability).
export function verdictScore(v) {
  if (v.class === "anomaly" && v.anomaly) {
    return `score ${fixed(v.anomaly.score)} > ${fixed(v.anomaly.threshold)}`;
  }
  return v.class ? score(v.confidence) : "";
}

function fixed(x) {
  return x === null || x === undefined || Number.isNaN(Number(x)) ? "—" : Number(x).toFixed(3);
}

// describe says in words what the anomaly fields hold.
export function describe(anomaly) {
  if (!anomaly) return "";
  const where = anomaly.region ? `; region ${anomaly.region.w}×${anomaly.region.h} at (${anomaly.region.x}, ${anomaly.region.y}) of the camera frame` : "; no region above the threshold";
  return `score ${fixed(anomaly.score)}, threshold ${fixed(anomaly.threshold)}${where}`;
}

// The appliance's status and active alarms, polled for the top bar and
// shared with pages. The top bar's state shows the worst active alarm, so a
// critical one is never under a green READY.

import { get } from "./api.js";

let last = null;
const listeners = new Set();

export const latest = () => last;

export function onStatus(fn) {
  listeners.add(fn);
  if (last) fn(last);
  return () => listeners.delete(fn);
}

const rank = { warning: 2, critical: 3 };

// worstAlarm is the most severe active alarm (acknowledged or not: it still
// holds), the oldest first among equals; info alarms do not count.
export function worstAlarm(list) {
  let worst = null;
  for (const a of list || []) {
    const r = rank[a.severity] || 0;
    if (!r) continue;
    if (!worst || r > rank[worst.severity] || (r === rank[worst.severity] && a.since < worst.since)) worst = a;
  }
  return worst;
}

function showState(el, state, alarm) {
  el.replaceChildren();
  if (alarm) {
    el.className = "state " + alarm.severity;
    el.title = `${state || "unknown"}: ${alarm.message || alarm.kind}`;
    const word = document.createElement("span");
    word.textContent = alarm.severity;
    const why = document.createElement("span");
    why.className = "why";
    why.textContent = alarm.message || alarm.kind;
    el.append(word, why);
    return;
  }
  el.className = "state " + (state || "");
  el.title = "";
  el.textContent = state || "unknown";
}

function showBanner(status) {
  const el = document.getElementById("model-banner");
  const synthetic = !!(status && status.model && status.model.synthetic);
  el.hidden = !synthetic;
  el.textContent = synthetic
    ? "Test model: this appliance runs a model with random weights, so its verdicts mean nothing. Import a real CLIP model (docs/models.md)."
    : "";
}

async function poll() {
  const el = document.getElementById("app-state");
  try {
    const [status, alarms] = await Promise.all([
      get("/status", { onUnauthorized: false }),
      get("/alarms", { onUnauthorized: false }).catch(() => []),
    ]);
    last = status;
    showState(el, last.state, worstAlarm(alarms));
    document.getElementById("line-name").textContent =
      (last.line ? "line " + last.line : "") + (last.recipe ? " · recipe " + last.recipe : "");
  } catch (err) {
    // 403: logged in, but the password must be changed first.
    const locked = err.status === 401 || err.status === 403;
    showState(el, locked ? "locked" : "offline", null);
    el.className = "state offline";
    if (!locked) last = null;
  }
  showBanner(last);
  for (const fn of listeners) {
    try { fn(last); } catch (e) { console.error(e); }
  }
}

let timer = null;
export function startStatus(every = 3000) {
  if (timer) return;
  poll();
  timer = setInterval(poll, every);
}

export function refreshStatus() { return poll(); }

// The appliance's status, polled for the top bar and shared with pages.

import { get } from "./api.js";

let last = null;
const listeners = new Set();

export const latest = () => last;

export function onStatus(fn) {
  listeners.add(fn);
  if (last) fn(last);
  return () => listeners.delete(fn);
}

async function poll() {
  const el = document.getElementById("app-state");
  try {
    last = await get("/status", { onUnauthorized: false });
    el.className = "state " + (last.state || "");
    el.textContent = last.state || "unknown";
    document.getElementById("line-name").textContent = last.line ? "line " + last.line : "";
  } catch (err) {
    el.className = "state offline";
    // 403: logged in, but the password must be changed first.
    const locked = err.status === 401 || err.status === 403;
    el.textContent = locked ? "locked" : "offline";
    if (!locked) last = null;
  }
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

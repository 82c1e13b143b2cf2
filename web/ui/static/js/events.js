// The verdict stream (server-sent events). EventSource reconnects by itself;
// the handlers hear "open" again after each reconnect, so a page can reload
// what it missed.

import { url } from "./api.js";

export function openEvents(handlers, params = "") {
  const es = new EventSource(url("/verdicts/stream" + params));
  const on = (name, fn) => fn && es.addEventListener(name, (e) => {
    let data;
    try { data = JSON.parse(e.data); } catch { return; }
    fn(data);
  });
  on("verdict", handlers.verdict);
  on("alarms", handlers.alarms);
  on("frame", handlers.frame);
  es.addEventListener("open", () => handlers.open && handlers.open());
  es.addEventListener("error", () => handlers.error && handlers.error());
  return es;
}

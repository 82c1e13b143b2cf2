// LineSight dashboard: a hash-routed single-page app. Each page is a module
// with render(root, ctx) that may return a cleanup function, called when the
// operator leaves the page.

import { h, fill, errorBox } from "./dom.js";
import * as session from "./session.js";
import { startStatus } from "./status.js";

const pages = {
  live: { title: "Live", load: () => import("./pages/live.js"), public: "kiosk" },
  stats: { title: "Statistics", load: () => import("./pages/stats.js") },
  history: { title: "History", load: () => import("./pages/history.js") },
  classes: { title: "Defect classes", load: () => import("./pages/classes.js") },
  golden: { title: "Golden samples", load: () => import("./pages/golden.js") },
  system: { title: "System", load: () => import("./pages/system.js") },
  users: { title: "Users", load: () => import("./pages/users.js"), role: "admin" },
  login: { title: "Log in", load: () => import("./pages/login.js"), public: true, hidden: true },
  password: { title: "Change password", load: () => import("./pages/password.js"), hidden: true },
};

const root = document.getElementById("page");
let cleanup = null;
let rendering = 0;

function currentRoute() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return { name: pages[name] ? name : "live", args: rest.map(decodeURIComponent) };
}

export function go(name, ...args) {
  location.hash = "#/" + [name, ...args.map(encodeURIComponent)].join("/");
}

function allowed(name) {
  const p = pages[name];
  const s = session.current();
  if (p.public === true) return true;
  if (p.public === "kiosk" && s.kiosk) return true;
  if (!s.user) return false;
  return !p.role || session.atLeast(p.role);
}

function renderNav(active) {
  const s = session.current();
  const nav = document.getElementById("nav");
  fill(nav, s.mustChange ? null : Object.entries(pages)
    .filter(([name, p]) => !p.hidden && allowed(name))
    .map(([name, p]) => h(`a${name === active ? ".active" : ""}`, { href: `#/${name}`, "aria-current": name === active ? "page" : null }, p.title)));
  const who = document.getElementById("who");
  if (s.user) {
    fill(who, h("span", `${s.user} (${s.role})`), h("a.button", { href: "#/password" }, "Password"),
      h("button", { type: "button", onclick: logout }, "Log out"));
  } else {
    fill(who, s.kiosk ? h("span", "kiosk") : null, active === "login" ? null : h("a.button", { href: "#/login" }, "Log in"));
  }
}

async function logout() {
  await session.logout();
  go("live");
  route();
}

async function route() {
  const { name, args } = currentRoute();
  const ticket = ++rendering;
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  // An account with the generated password may only change it.
  if (session.current().mustChange && name !== "password") {
    go("password");
    return;
  }
  if (!allowed(name)) {
    if (!session.current().user && name !== "login") {
      sessionStorage.setItem("linesight.after-login", location.hash || "#/live");
      go("login");
      return;
    }
  }
  renderNav(name);
  document.title = `LineSight · ${pages[name].title}`;
  root.dataset.page = name;
  fill(root, h("p.muted", "Loading…"));
  try {
    const mod = await pages[name].load();
    if (ticket !== rendering) return;
    fill(root);
    const ret = await mod.render(root, { args, session: session.current(), go, refreshNav: () => renderNav(name) });
    if (ticket !== rendering) { if (typeof ret === "function") ret(); return; }
    cleanup = typeof ret === "function" ? ret : null;
  } catch (err) {
    console.error(err);
    if (ticket === rendering) fill(root, errorBox(err));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("linesight:unauthorized", () => {
  session.forget();
  if (currentRoute().name !== "login" && !allowed(currentRoute().name)) route();
});
window.addEventListener("linesight:session", () => renderNav(currentRoute().name));

(async () => {
  await session.load();
  startStatus();
  route();
})();

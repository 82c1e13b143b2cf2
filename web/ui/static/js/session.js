// Who is looking at the dashboard: a logged-in user with a role, or nobody
// (in kiosk mode, nobody may still watch the live view).

import { get, post, setCSRF } from "./api.js";

// mustChange: the account must set a new password before anything else.
let state = { user: "", role: "", kiosk: false, mustChange: false };

export const current = () => state;

// Roles are ordered: a higher one may do all a lower one may.
const rank = { operator: 1, engineer: 2, admin: 3 };
export const atLeast = (role) => (rank[state.role] || 0) >= rank[role];
export const canOperate = () => atLeast("operator");
export const canEdit = () => atLeast("engineer");

function set(me) {
  const u = (me && me.user) || {};
  state = { user: u.name || "", role: u.role || "", kiosk: !!(me && me.kiosk), mustChange: !!(me && me.must_change_password) };
  setCSRF(me && me.csrf_token);
  window.dispatchEvent(new CustomEvent("linesight:session"));
}

export async function load() {
  try {
    set(await get("/auth/me", { onUnauthorized: false }));
  } catch {
    set(null);
  }
  return state;
}

export async function login(name, password) {
  set(await post("/auth/login", { name, password }, { onUnauthorized: false }));
  return state;
}

export async function logout() {
  try { await post("/auth/logout", {}); } catch { /* gone already */ }
  await load();
}

export function forget() {
  set({ kiosk: state.kiosk });
}

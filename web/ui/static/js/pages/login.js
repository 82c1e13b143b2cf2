// Login: name and password; back to the page that asked for it.

import { h, fill, errorBox } from "../dom.js";
import * as session from "../session.js";

export async function render(root, ctx) {
  const name = h("input#login-name", { name: "name", autocomplete: "username", required: true, autofocus: true });
  const password = h("input#login-password", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const note = sessionStorage.getItem("linesight.login-note");
  sessionStorage.removeItem("linesight.login-note");
  const msg = h("div", note ? h("div.ok#login-note", note) : null);
  const form = h("form.login.panel#login-form",
    h("h2", "Log in"),
    h("label", "Name", name),
    h("label", "Password", password),
    msg,
    h("button.primary", { type: "submit" }, "Log in"),
    session.current().kiosk ? h("a", { href: "#/live" }, "Back to the live view") : null);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    fill(msg);
    try {
      await session.login(name.value.trim(), password.value);
      const back = sessionStorage.getItem("linesight.after-login") || "#/live";
      sessionStorage.removeItem("linesight.after-login");
      location.hash = session.current().mustChange ? "#/password" : back === "#/login" ? "#/live" : back;
    } catch (err) {
      fill(msg, errorBox(err.status === 429 ? "Too many attempts: wait a minute and try again." : err));
      password.select();
    }
  });
  fill(root, form);
  name.focus();
}

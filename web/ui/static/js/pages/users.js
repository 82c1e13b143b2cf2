// Users (admin): add, change role or password, delete.

import { h, fill, dateTime, errorBox } from "../dom.js";
import { get, post, put, del } from "../api.js";
import { current } from "../session.js";

const roles = ["operator", "engineer", "admin"];

export async function render(root) {
  const list = h("div#users");
  const msg = h("div", { "aria-live": "polite" });
  const name = h("input#user-name", { required: true, pattern: "[A-Za-z0-9._\\-]{1,64}", autocomplete: "off" });
  const role = h("select#user-role", roles.map((r) => h("option", { value: r }, r)));
  const password = h("input#user-password", { type: "password", required: true, minlength: 8, maxlength: 72, autocomplete: "new-password" });
  const form = h("form.filters.panel#user-add", h("label", "Name", name), h("label", "Role", role), h("label", "Password", password),
    h("button.primary", { type: "submit" }, "Add user"));
  fill(root, h("div.grid", form, msg, h("section.panel", h("h2", "Users"), list)));

  const say = (node) => fill(msg, node);

  async function load() {
    let users;
    try {
      users = await get("/users");
    } catch (err) {
      fill(list, errorBox(err));
      return;
    }
    fill(list, h("div", { style: "overflow-x:auto" }, h("table",
      h("thead", h("tr", h("th", "Name"), h("th", "Role"), h("th.hide-phone", "Created"), h("th.hide-phone", "Updated"), h("th", ""))),
      h("tbody", users.map((u) => {
        const sel = h("select", { "aria-label": `role of ${u.name}` }, roles.map((r) => h("option", { value: r, selected: r === u.role }, r)));
        sel.addEventListener("change", () => act(() => put(`/users/${encodeURIComponent(u.name)}`, { role: sel.value }), `${u.name} is now ${sel.value}`));
        return h("tr", { dataset: { user: u.name } },
          h("td", u.name, u.name === current().user ? h("small.muted", " (you)") : null),
          h("td", sel),
          h("td.hide-phone", dateTime(u.created_at)), h("td.hide-phone", dateTime(u.updated_at)),
          h("td", h("div.row",
            h("button", { type: "button", onclick: () => {
              const p = prompt(`New password for ${u.name} (8 to 72 characters)`);
              if (p) act(() => put(`/users/${encodeURIComponent(u.name)}`, { password: p }), `password of ${u.name} changed`);
            } }, "Set password"),
            h("button.danger", { type: "button", onclick: () => {
              if (confirm(`Delete user ${u.name}?`)) act(() => del(`/users/${encodeURIComponent(u.name)}`), `${u.name} deleted`);
            } }, "Delete"))));
      })))));
  }

  async function act(fn, done) {
    try {
      await fn();
      say(h("div.ok", done));
    } catch (err) {
      say(errorBox(err));
    }
    load();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(() => post("/users", { name: name.value.trim(), role: role.value, password: password.value }), `${name.value.trim()} added`)
      .then(() => { name.value = ""; password.value = ""; });
  });
  await load();
}

// Change password: the user's own. The generated first admin lands here at
// its first login and may go nowhere else until it has a new password.

import { h, fill, errorBox } from "../dom.js";
import { post } from "../api.js";
import * as session from "../session.js";

export async function render(root, ctx) {
  const forced = session.current().mustChange;
  const old = h("input#password-old", { type: "password", autocomplete: "current-password", required: true });
  const next = h("input#password-new", { type: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 72 });
  const again = h("input#password-again", { type: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 72 });
  const msg = h("div");
  const form = h("form.login.panel#password-form",
    h("h2", "Change password"),
    forced ? h("p#password-forced", h("strong", "This account still has the password generated at the first start."),
      " Choose a new one before using the dashboard; the file holding the old one is then removed.") : null,
    h("label", "Current password", old),
    h("label", "New password (8 to 72 characters)", next),
    h("label", "New password again", again),
    msg,
    h("button.primary", { type: "submit" }, "Change password"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    fill(msg);
    if (next.value !== again.value) {
      fill(msg, errorBox("The two new passwords differ."));
      again.select();
      return;
    }
    try {
      await post("/auth/password", { old: old.value, new: next.value });
    } catch (err) {
      fill(msg, errorBox(err));
      return;
    }
    // The change ends every session of the account: log in again.
    sessionStorage.setItem("linesight.login-note", "Password changed: log in with the new password.");
    sessionStorage.setItem("linesight.after-login", "#/live");
    await session.load();
    ctx.go("login");
  });
  fill(root, form);
  old.focus();
}

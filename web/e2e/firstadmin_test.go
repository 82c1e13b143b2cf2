package e2e

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// The generated first admin logs in, is held on a change-password form
// whatever page it asks for, sets a new password and logs in with it.
func TestFirstAdminChangesItsPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an appliance and Chromium")
	}
	chromiumPath(t)
	a := startFirstTime(t)
	shots := screenshotDir(t)
	ctx := newBrowser(t, 1366, 768)
	const newPassword = "a-password-of-our-own"

	do(t, ctx, "log in with the generated password",
		chromedp.Navigate(a.URL+"/#/history"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#login-name", a.User),
		chromedp.SendKeys("#login-password", a.Password),
		submit("#login-form"),
		chromedp.WaitVisible("#password-form"),
		chromedp.WaitVisible("#password-forced"))
	screenshot(t, ctx, shots, "password")
	if n := eval[int](t, ctx, "read the nav", `document.querySelectorAll("#nav a").length`); n != 0 {
		t.Errorf("the nav offers %d pages before the password is changed", n)
	}
	do(t, ctx, "try another page",
		js(`location.hash = "#/users"`),
		waitJS(`location.hash === "#/password"`),
		chromedp.WaitVisible("#password-form"))
	if eval[bool](t, ctx, "look for the users page", `document.querySelector("#user-add") !== null`) {
		t.Error("the users page showed before the password was changed")
	}

	do(t, ctx, "mistype the repeat",
		setValue("#password-old", a.Password),
		setValue("#password-new", newPassword),
		setValue("#password-again", newPassword+"x"),
		submit("#password-form"),
		waitJS(`document.querySelector("#password-form .error")?.textContent.includes("differ")`))
	do(t, ctx, "change the password",
		setValue("#password-again", newPassword),
		submit("#password-form"),
		chromedp.WaitVisible("#login-form"),
		waitJS(`document.querySelector("#login-note")?.textContent.includes("Password changed")`))
	if _, err := os.Stat(filepath.Join(a.Dir, "data", "initial-admin-password")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the initial password file is still there: %v", err)
	}

	do(t, ctx, "log in with the new password",
		chromedp.SendKeys("#login-name", a.User),
		chromedp.SendKeys("#login-password", newPassword),
		submit("#login-form"),
		chromedp.WaitVisible("#figures"),
		waitJS(`[...document.querySelectorAll("#nav a")].some(a => a.textContent === "Users")`))
	a.Password = newPassword
	if code := a.api(t, "GET", "/history?limit=1", nil, nil); code != 200 {
		t.Errorf("history with the new password: HTTP %d", code)
	}
}

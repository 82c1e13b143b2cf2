package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// The server's middleware: security headers on every answer, a handler's
// panic answered 500 with the server still serving, and a body over its
// route's limit refused 413 naming the limit.
func TestMiddlewareHeadersPanicsAndBodyLimits(t *testing.T) {
	h := newHarness(t)
	h.srv.e.GET("/panics", func(echo.Context) error { panic("a handler's bug") })

	resp, _ := h.anon().do("GET", "/healthz", "")
	for k, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
		"Content-Security-Policy": "default-src 'self'",
	} {
		if got := resp.Header.Get(k); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}

	resp, body := h.anon().do("GET", "/panics", "")
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "internal error") {
		t.Errorf("a panicking handler: %d %s", resp.StatusCode, body)
	}
	h.anon().expect("GET", "/healthz", "", 200)

	big := `{"name":"` + strings.Repeat("x", maxBody) + `","password":"p"}`
	resp, body = h.anon().do("POST", "/api/v1/auth/login", big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than") {
		t.Errorf("an oversized login: %d %s", resp.StatusCode, body)
	}
}

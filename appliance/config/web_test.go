package config

import (
	"strings"
	"testing"
)

// Port 0 lets the system pick the dashboard's port, as tests and demos
// need; the host is still checked.
func TestWebListenPortZero(t *testing.T) {
	for listen, bad := range map[string]string{
		"127.0.0.1:0":  "",
		":0":           "",
		"[::1]:0":      "",
		"::1:0":        "in brackets",
		"bad host:0":   "bad host",
		"127.0.0.1:-1": "not a number",
	} {
		_, es := loadErrors(t, minimal+"web:\n  listen: \""+listen+"\"\n", nil)
		switch {
		case bad == "" && es != nil:
			t.Errorf("web.listen %q refused: %v", listen, es)
		case bad != "" && (es == nil || !strings.Contains(es.Error(), bad)):
			t.Errorf("web.listen %q: %v, want a problem saying %q", listen, es, bad)
		}
	}
}

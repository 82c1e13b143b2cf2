package config

import (
	"strings"
	"testing"
	"time"
)

func TestTuningAndEscalationKeys(t *testing.T) {
	base := "line: l\nmodel: {bundle: m}\ncameras: [{id: c, source: {kind: synthetic}}]\n"
	good := base + `model: {bundle: m, max_memory_mb: 2048}
performance: {adaptive: true, deadline: 250ms, swap_variants: true}
escalation:
  endpoint: https://hub:8470
  token: 0123456789abcdef
  timeout: 300ms
  serve: {listen: ":8470", tls: {cert: c.pem, key: k.pem, client_ca: ca.pem}}
`
	// The second model key replaces the first in YAML; write it once.
	good = strings.Replace(good, "model: {bundle: m}\n", "", 1)
	c, err := Parse("linesight.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Model.MaxMemoryMB != 2048 || c.Performance.Deadline != 250*time.Millisecond || !c.Performance.SwapVariants ||
		c.Escalation.Timeout != 300*time.Millisecond || c.Escalation.Serve.Listen != ":8470" {
		t.Errorf("decoded %+v %+v %+v", c.Model, c.Performance, c.Escalation)
	}
	if strings.Contains(c.Hash(), "0123456789abcdef") {
		t.Error("hash input leaks the token")
	}

	bad := []struct{ yaml, path string }{
		{"model: {bundle: m, max_memory_mb: 10}\n", "model.max_memory_mb"},
		{"performance: {quantile: 0.2}\n", "performance.quantile"},
		{"performance: {swap_variants: true}\n", "performance.swap_variants"},
		{"escalation: {endpoint: ftp://x:1, token: 0123456789abcdef}\n", "escalation.endpoint"},
		{"escalation: {endpoint: http://x:1}\n", "escalation.token"},
		{"escalation: {endpoint: http://x:1, token: 0123456789abcdef, tls: {ca: ca.pem}}\n", "escalation.tls"},
		{"escalation: {timeout: 1ms}\n", "escalation.timeout"},
		{"escalation: {serve: {tls: {client_ca: ca.pem}}}\n", "escalation.serve.tls.client_ca"},
	}
	for _, b := range bad {
		doc := base + b.yaml
		if strings.HasPrefix(b.yaml, "model:") {
			doc = strings.Replace(doc, "model: {bundle: m}\n", "", 1)
		}
		_, err := Parse("linesight.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), b.path+":") {
			t.Errorf("%q: want an error at %s, got %v", b.yaml, b.path, err)
		}
	}
}

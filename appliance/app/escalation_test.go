package app

import (
	"context"
	"fmt"
	"github.com/linesight/linesight/pipeline/clip/toolchain/bundlewrite"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/escalation"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/clip/arch"
	"github.com/linesight/linesight/pipeline/clip/bundle"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/clip/tokenizer"
	"github.com/linesight/linesight/web"
)

const escalationToken = "line-one-shared-token"

// Thresholds of 1 are never reached: every part is UNCERTAIN, and escalated.
const escalateClasses = `version: 1
templates: ["a photo of a {} part"]
sets:
  parts:
    uncertain: escalate
    good: {states: [flawless], threshold: 1}
    defects:
      - {name: scratch, states: [scratched], threshold: 1}
cameras:
  default: parts
`

// largerModel writes a random model wider and deeper than the appliance's.
func largerModel(t *testing.T) string {
	t.Helper()
	cfg, err := arch.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.VisionConfig.HiddenSize, cfg.VisionConfig.IntermediateSize, cfg.VisionConfig.NumHiddenLayers = 64, 256, 3
	tok, err := tokenizer.Default()
	if err != nil {
		t.Fatal(err)
	}
	pre := preprocess.DefaultParams()
	pre.ShortestEdge, pre.CropHeight, pre.CropWidth = 32, 32, 32
	dir := filepath.Join(t.TempDir(), "larger")
	if err := bundlewrite.Write(dir, cfg, arch.RandomWeights(cfg, 9), tok, pre, bundlewrite.Options{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startEscalationServer runs `linesight serve`'s server on a loopback port.
func startEscalationServer(t *testing.T) (string, *escalation.Server, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf("data_dir: data\nmodel: {bundle: %s, threads: 1}\nescalation: {token: %s}\n",
		largerModel(t), escalationToken)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, release, err := EscalationServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(cfg.Model.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := b.Digest("fp32")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		// A free loopback port rather than the configured one.
		done <- web.ServeTLSConfig(ctx, "127.0.0.1:0", srv.Handler(), nil, nil, func(a net.Addr) { addr <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("escalation server: %v", err)
		}
		release()
	})
	select {
	case a := <-addr:
		return a.String(), srv, digest
	case err := <-done:
		t.Fatal(err)
	}
	return "", nil, ""
}

func escalatingConfig(t *testing.T, endpoint, token string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "classes.yaml"), []byte(escalateClasses), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "linesight.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(`line: test
data_dir: data
defects: classes.yaml
model: {bundle: %s, threads: 1}
cameras:
  - id: free
    source: {kind: synthetic, width: 96, height: 64, fps: 200, seed: 3, frames: 12}
pipeline: {batch_size: 4, batch_wait: 5ms, queue_size: 64}
escalation: {endpoint: %q, token: %q, timeout: 5s}
`, modelDir, endpoint, token)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEscalationBetweenTwoAppliances runs an appliance with the tiny model
// against a server with a larger one, over loopback HTTP.
func TestEscalationBetweenTwoAppliances(t *testing.T) {
	addr, srv, serverDigest := startEscalationServer(t)
	down := testenv.RefusingAddr(t)

	cases := []struct {
		name    string
		addr    string
		token   string
		remote  bool
		counter func(s *EscalationStatus) uint64
	}{
		{"answered by the larger model", addr, escalationToken, true, func(s *EscalationStatus) uint64 { return s.Remote }},
		{"refused: wrong token", addr, "a-token-the-server-does-not-know", false, func(s *EscalationStatus) uint64 { return s.Refused }},
		{"server down", down, escalationToken, false, func(s *EscalationStatus) uint64 { return s.Unreachable }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, sink, cancel, done := startApp(t, escalatingConfig(t, "http://"+c.addr, c.token))
			vs := waitVerdicts(t, sink, func(vs []defects.Verdict) bool { return len(vs) == 12 })
			st := a.Status().Escalation
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			var seq uint64
			for _, v := range vs {
				if v.Seq <= seq {
					t.Errorf("verdicts out of order: seq %d after %d", v.Seq, seq)
				}
				seq = v.Seq
				if v.Outcome == defects.Missed || v.Action == defects.ActionEscalate {
					t.Fatalf("verdict %+v", v)
				}
				if c.remote {
					// The larger model is unsure too (thresholds of 1):
					// its verdict is published, rejecting the part.
					if v.Source != "remote:"+c.addr || v.ModelDigest != serverDigest || len(v.Scores) != 2 || v.Action != defects.ActionReject {
						t.Fatalf("want the server's verdict, got %+v", v)
					}
				} else if v.Source != defects.SourceLocal || v.Action != defects.ActionReject || !strings.Contains(v.Reason, "escalation") {
					t.Fatalf("want the local fallback (reject), got %+v", v)
				}
			}
			if st == nil || st.Sent != 12 || c.counter(st) != 12 {
				t.Errorf("escalation status %+v", st)
			}
		})
	}
	if srv.Refused.Value() != 12 {
		t.Errorf("the server refused %d requests, want 12", srv.Refused.Value())
	}
}

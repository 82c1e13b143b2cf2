package escalation

import (
	"context"
	"image"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/inspect"
)

const token = "0123456789abcdef-shared"

const classes = `version: 1
sets:
  parts:
    uncertain: escalate
    good: {prompts: ["a good part"], threshold: 0.9}
    defects: [{name: scratch, prompts: ["a scratched part"], threshold: 0.9}]
cameras: {default: parts}
`

// brightModel sees bright images as good and dark ones as scratched.
type brightModel struct{}

func (brightModel) EmbedImages(imgs []image.Image) ([][]float32, error) {
	out := make([][]float32, len(imgs))
	for i, img := range imgs {
		r, _, _, _ := img.At(0, 0).RGBA()
		if r > 0x8000 {
			out[i] = []float32{1, 0}
		} else {
			out[i] = []float32{0, 1}
		}
	}
	return out, nil
}

type axisText struct{}

func (axisText) EmbedTexts(texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = []float32{1, 0}
		if strings.Contains(t, "scratch") {
			out[i] = []float32{0, 1}
		}
	}
	return out, nil
}

func (brightModel) Prepare(set *defects.ClassSet) (*defects.Scorer, error) {
	return defects.Prepare(set, nil, axisText{}, "sha256:remote-model", 100)
}

// startServer runs a server with h on a loopback port and returns its URL.
func startServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// uncertain is a local verdict to escalate, with its frame (bright or dark).
func uncertain(t *testing.T, bright bool) *inspect.Result {
	t.Helper()
	f, err := defects.Parse("classes.yaml", []byte(classes))
	if err != nil {
		t.Fatal(err)
	}
	fr := frame.NewPool(1).Get(8, 8, 24)
	fr.Width, fr.Height, fr.Stride = 8, 8, 24
	v := byte(20)
	if bright {
		v = 240
	}
	for i := range fr.Pix[:8*24] {
		fr.Pix[i] = v
	}
	return &inspect.Result{Frame: fr, Verdict: defects.Verdict{
		Camera: "cam1", Seq: 7, PartID: "P-7", CapturedAt: time.Now(), Outcome: defects.Uncertain,
		Action: defects.ActionEscalate, ConfigHash: f.Hash(), Source: defects.SourceLocal, ModelDigest: "sha256:local",
	}}
}

func client(t *testing.T, endpoint, tok string, timeout time.Duration) *Client {
	t.Helper()
	c, err := NewClient(Options{Endpoint: endpoint, Token: tok, Timeout: timeout,
		Defects: func(string) ([]byte, error) { return []byte(classes), nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestEscalation(t *testing.T) {
	srv := NewServer(token, brightModel{}, nil)
	url := startServer(t, srv.Handler())
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	slowURL := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client giving up.
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return // the client is gone: there is no one to answer
		}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	// A port nothing listens on, held for the test so nothing can.
	downURL := "http://" + testenv.RefusingAddr(t)

	cases := []struct {
		name     string
		endpoint string
		token    string
		bright   bool
		outcome  defects.Outcome
		action   defects.Action
		remote   bool
		counter  func(s *Stats) uint64
	}{
		{"answered: the remote model passes the part", url, token, true, defects.Pass, defects.ActionPass, true, func(s *Stats) uint64 { return s.Remote.Value() }},
		{"answered: the remote model fails the part", url, token, false, defects.Fail, defects.ActionReject, true, func(s *Stats) uint64 { return s.Remote.Value() }},
		{"wrong token: refused, rejected locally", url, "not-the-token-at-all", true, defects.Uncertain, defects.ActionReject, false, func(s *Stats) uint64 { return s.Refused.Value() }},
		{"late: timed out, rejected locally", slowURL, token, true, defects.Uncertain, defects.ActionReject, false, func(s *Stats) uint64 { return s.Timeouts.Value() }},
		{"down: unreachable, rejected locally", downURL, token, true, defects.Uncertain, defects.ActionReject, false, func(s *Stats) uint64 { return s.Unreachable.Value() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := client(t, c.endpoint, c.token, 300*time.Millisecond)
			res := uncertain(t, c.bright)
			if !cl.Wants(&res.Verdict) {
				t.Fatal("an uncertain verdict with action escalate is not wanted")
			}
			v := cl.Resolve(context.Background(), res)
			if v.Outcome != c.outcome || v.Action != c.action {
				t.Errorf("verdict %s/%s, want %s/%s (reason %q)", v.Outcome, v.Action, c.outcome, c.action, v.Reason)
			}
			wantSource := defects.SourceLocal
			if c.remote {
				wantSource = "remote:" + strings.TrimPrefix(c.endpoint, "http://")
				if v.ModelDigest != "sha256:remote-model" || len(v.Scores) != 2 {
					t.Errorf("remote verdict lacks the remote model's scores: %+v", v)
				}
			} else if !strings.Contains(v.Reason, "rejected") {
				t.Errorf("fallback verdict does not say why: %q", v.Reason)
			}
			if v.Source != wantSource || v.Camera != "cam1" || v.Seq != 7 || v.PartID != "P-7" {
				t.Errorf("verdict %+v, want source %s and the frame's identity", v, wantSource)
			}
			if got := c.counter(&cl.Stats); got != 1 || cl.Stats.Sent.Value() != 1 {
				t.Errorf("counter %d, sent %d; stats %+v", got, cl.Stats.Sent.Value(), &cl.Stats)
			}
		})
	}
	if srv.Refused.Value() != 1 {
		t.Errorf("server refused %d requests, want 1", srv.Refused.Value())
	}
}

func TestServerChecksTheDefectHash(t *testing.T) {
	srv := NewServer(token, brightModel{}, nil)
	url := startServer(t, srv.Handler())
	cl := client(t, url, token, time.Second)
	res := uncertain(t, true)
	res.Verdict.ConfigHash = "sha256:something-else"
	v := cl.Resolve(context.Background(), res)
	if v.Action != defects.ActionReject || !strings.Contains(v.Reason, "409") || cl.Stats.Errors.Value() != 1 {
		t.Errorf("a mismatched hash gave %+v", v)
	}
}

func TestWantsOnlyEscalations(t *testing.T) {
	cl := client(t, "http://127.0.0.1:1", token, time.Second)
	for _, v := range []defects.Verdict{
		{Outcome: defects.Uncertain, Action: defects.ActionReject, ConfigHash: "h"},
		{Outcome: defects.Fail, Action: defects.ActionReject, ConfigHash: "h"},
		{Outcome: defects.Missed, Action: defects.ActionEscalate, ConfigHash: "h"},
	} {
		if cl.Wants(&v) {
			t.Errorf("wants %+v", v)
		}
	}
}

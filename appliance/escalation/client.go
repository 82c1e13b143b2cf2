package escalation

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/inspect"
	"github.com/linesight/linesight/pipeline/metrics"
)

// Options configure a client.
type Options struct {
	Endpoint    string // http(s)://host:port
	Token       string
	Timeout     time.Duration
	JPEGQuality int
	TLS         *tls.Config // nil: the system's defaults
	// Defects returns the defect-class YAML whose hash is given: the file
	// the verdict's classes came from.
	Defects func(hash string) ([]byte, error)
	Log     *slog.Logger
}

// Client sends escalations; it is the inspection loop's Resolver.
type Client struct {
	opts   Options
	url    string
	source string // "remote:<host>"
	http   *http.Client
	Stats  Stats
}

// Stats count escalations by how they ended.
type Stats struct {
	Sent        metrics.Counter
	Remote      metrics.Counter // answered in time: the remote verdict was published
	Timeouts    metrics.Counter // no answer by the deadline
	Refused     metrics.Counter // 401/403: wrong token or certificate
	Unreachable metrics.Counter // connection failed
	Errors      metrics.Counter // any other failure (bad status, bad answer)
	Latency     metrics.Histogram
}

// NewClient makes a client for an endpoint.
func NewClient(o Options) (*Client, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("escalation endpoint %q: want http(s)://host:port", o.Endpoint)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.JPEGQuality == 0 {
		o.JPEGQuality = 90
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = o.TLS
	tr.Proxy = nil // an appliance talks to its server directly
	return &Client{
		opts: o, url: u.JoinPath(Path).String(), source: "remote:" + u.Host,
		http: &http.Client{Transport: tr},
	}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Wants picks UNCERTAIN verdicts whose action is escalate.
func (c *Client) Wants(v *defects.Verdict) bool {
	return v.Outcome == defects.Uncertain && v.Action == defects.ActionEscalate && v.ConfigHash != ""
}

// Resolve sends the frame and returns the remote verdict, or, when the
// server does not answer well and in time, the local verdict with the
// local uncertain fallback: reject.
func (c *Client) Resolve(ctx context.Context, r *inspect.Result) defects.Verdict {
	local := r.Verdict
	c.Stats.Sent.Inc()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	remote, err := c.send(ctx, r)
	if err != nil {
		kind := c.count(ctx, err)
		c.opts.Log.Warn("escalation failed: rejecting the uncertain part", "camera", local.Camera, "seq", local.Seq,
			"part_id", local.PartID, "failure", kind, "err", err)
		local.Action = defects.ActionReject
		local.Reason = joinReason(local.Reason, fmt.Sprintf("escalation %s: %v; rejected", kind, err))
		local.Source = defects.SourceLocal
		return local
	}
	c.Stats.Remote.Inc()
	c.Stats.Latency.Observe(time.Since(start))
	v := local
	v.Outcome, v.Action, v.Class, v.Confidence, v.Scores = remote.Outcome, remote.Action, remote.Class, remote.Confidence, remote.Scores
	v.Reason, v.ModelDigest, v.Source = remote.Reason, remote.ModelDigest, c.source
	v.InferredAt = time.Now()
	v.Latency = v.InferredAt.Sub(v.CapturedAt)
	if v.Action == defects.ActionEscalate || v.Action == "" {
		// No second hop: the remote model is unsure too.
		v.Action = defects.ActionReject
		v.Reason = joinReason(v.Reason, "the escalation server is uncertain too; rejected")
	}
	return v
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// count files a failure under its kind.
func (c *Client) count(ctx context.Context, err error) string {
	var se statusError
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		c.Stats.Timeouts.Inc()
		return "timed out"
	case errors.As(err, &se) && (se.code == http.StatusUnauthorized || se.code == http.StatusForbidden):
		c.Stats.Refused.Inc()
		return "refused"
	case errors.As(err, &oe) && oe.Op == "dial":
		c.Stats.Unreachable.Inc()
		return "unreachable"
	default:
		c.Stats.Errors.Inc()
		return "failed"
	}
}

type statusError struct {
	code int
	msg  string
}

func (e statusError) Error() string { return fmt.Sprintf("server answered %d: %s", e.code, e.msg) }

func (c *Client) send(ctx context.Context, r *inspect.Result) (defects.Verdict, error) {
	v := r.Verdict
	if r.Frame == nil {
		return defects.Verdict{}, errors.New("no frame to send")
	}
	yaml, err := c.opts.Defects(v.ConfigHash)
	if err != nil {
		return defects.Verdict{}, fmt.Errorf("defect classes %s: %w", v.ConfigHash, err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	meta, _ := json.Marshal(Meta{Camera: v.Camera, Seq: v.Seq, PartID: v.PartID, CapturedAt: v.CapturedAt, ConfigHash: v.ConfigHash})
	mw.WriteField("meta", string(meta))
	dw, _ := mw.CreateFormFile("defects", "defects.yaml")
	dw.Write(yaml)
	iw, _ := mw.CreateFormFile("image", "frame.jpg")
	if err := jpeg.Encode(iw, bgrImage(r.Frame), &jpeg.Options{Quality: c.opts.JPEGQuality}); err != nil {
		return defects.Verdict{}, fmt.Errorf("encode frame: %w", err)
	}
	mw.Close()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, &body)
	if err != nil {
		return defects.Verdict{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	resp, err := c.http.Do(req)
	if err != nil {
		return defects.Verdict{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return defects.Verdict{}, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return defects.Verdict{}, statusError{resp.StatusCode, string(bytes.TrimSpace(data))}
	}
	var out defects.Verdict
	if err := json.Unmarshal(data, &out); err != nil {
		return defects.Verdict{}, fmt.Errorf("decode answer: %w", err)
	}
	if out.ConfigHash != v.ConfigHash || out.Camera != v.Camera || out.Seq != v.Seq {
		return defects.Verdict{}, fmt.Errorf("the answer is for %s/%d with %s, not this frame", out.Camera, out.Seq, out.ConfigHash)
	}
	switch out.Outcome {
	case defects.Pass, defects.Fail, defects.Uncertain:
	default:
		return defects.Verdict{}, fmt.Errorf("the answer has outcome %q", out.Outcome)
	}
	return out, nil
}

// bgrImage converts a frame's BGR pixels for the JPEG encoder.
func bgrImage(f *frame.Frame) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	for y := 0; y < f.Height; y++ {
		src := f.Pix[y*f.Stride : y*f.Stride+3*f.Width]
		dst := img.Pix[y*img.Stride : y*img.Stride+4*f.Width]
		for x := 0; x < f.Width; x++ {
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = src[3*x+2], src[3*x+1], src[3*x], 255
		}
	}
	return img
}

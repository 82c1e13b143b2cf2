package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	jsontext "github.com/go-json-experiment/json/jsontext"

	"github.com/linesight/linesight/appliance/trigger"
	"github.com/linesight/linesight/defects"
)

// passwordEnv holds the password of `trigger --user`.
const passwordEnv = "LINESIGHT_PASSWORD"

// requestTimeout bounds each request to the appliance (not the wait for a
// verdict).
const requestTimeout = 10 * time.Second

// triggerPart asks a running appliance, through its web API, to inspect a
// part; with --wait it prints that part's verdict.
func triggerPart(ctx context.Context, args []string, stdio Stdio) error {
	fs := newFlags("trigger", stdio)
	base := fs.String("url", "http://127.0.0.1:8080", "the running appliance's web address")
	camera := fs.String("camera", "", "camera id (a triggered camera)")
	partID := fs.String("part-id", "", "the part's id, echoed in its verdict")
	at := fs.String("at", "", "the part's time by the PLC's clock (RFC 3339, e.g. 2026-12-03T10:15:30.125Z, or epoch milliseconds): the frame captured nearest to it is judged")
	user := fs.String("user", "", "dashboard user (operator or higher); the password comes from $"+passwordEnv+" or --password-file")
	passwordFile := fs.String("password-file", "", "read the user's password from the first line of FILE instead of $"+passwordEnv)
	wait := fs.Bool("wait", false, "wait for the part's verdict and print it as JSON")
	timeout := fs.Duration("timeout", 30*time.Second, "with --wait: give up when no verdict came within this time of the trigger's acceptance")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *camera == "" || *partID == "" || *user == "" {
		return fmt.Errorf("need --camera ID, --part-id ID and --user NAME")
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", *timeout)
	}
	atValue, err := atFlag(*at)
	if err != nil {
		return err
	}
	// A missing password is said here, not sent as an empty one: that
	// would read as a wrong password and count as a failed login.
	password, err := triggerPassword(*passwordFile)
	if err != nil {
		return err
	}
	c := apiClient{base: strings.TrimRight(*base, "/"), user: *user, password: password}

	if !*wait {
		reply, err := c.trigger(ctx, *camera, *partID, atValue)
		if err != nil {
			return err
		}
		stdio.Out.Write(reply)
		return nil
	}
	// Subscribe before triggering, so the verdict cannot pass unseen. The
	// stream lives in its own context: opening it is bounded like any
	// request, and the wait for the verdict by --timeout from the trigger's
	// acceptance.
	streamCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	opening := time.AfterFunc(requestTimeout, func() {
		stop(fmt.Errorf("no answer from %s within %s", c.base, requestTimeout))
	})
	stream, err := c.verdicts(streamCtx, *camera)
	opening.Stop()
	if err != nil {
		if streamCtx.Err() != nil {
			return fmt.Errorf("open the verdict stream: %w", context.Cause(streamCtx))
		}
		return err
	}
	defer stream.Close()
	if _, err := c.trigger(ctx, *camera, *partID, atValue); err != nil {
		return err
	}
	waiting := time.AfterFunc(*timeout, func() {
		stop(fmt.Errorf("no verdict for part %s on camera %s within %s (the trigger was accepted; find the verdict later with GET /api/v1/history?part_id=%s)",
			*partID, *camera, *timeout, url.QueryEscape(*partID)))
	})
	defer waiting.Stop()
	v, err := waitVerdict(stream, *camera, *partID)
	switch {
	case err == nil:
		// As the appliance sent it: fields this build does not know stay.
		_, err := fmt.Fprintf(stdio.Out, "%s\n", v)
		return err
	case streamCtx.Err() != nil:
		return context.Cause(streamCtx)
	default:
		return fmt.Errorf("wait for the verdict of part %s: %w", *partID, err)
	}
}

// triggerPassword reads the password from file, else from the environment.
func triggerPassword(file string) (string, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read the password: %w", err)
		}
		line, _, _ := strings.Cut(string(data), "\n")
		if line = strings.TrimRight(line, "\r"); line == "" {
			return "", fmt.Errorf("no password: the first line of %s is empty", file)
		}
		return line, nil
	}
	if p := os.Getenv(passwordEnv); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("no password: set $%s or pass --password-file FILE", passwordEnv)
}

// apiClient calls a running appliance's web API with Basic credentials.
type apiClient struct {
	base, user, password string
}

func (c apiClient) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(c.user, c.password)
	return http.DefaultClient.Do(req)
}

// refused describes a reply that is not the expected status.
func refused(what string, resp *http.Response) error {
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var msg struct {
		Message string `json:"message"`
	}
	text := string(bytes.TrimSpace(reply))
	if json.Unmarshal(reply, &msg) == nil && msg.Message != "" {
		text = msg.Message
	}
	return fmt.Errorf("%s refused (%s): %s", what, resp.Status, text)
}

// trigger posts the trigger and returns the appliance's reply.
func (c apiClient) trigger(ctx context.Context, camera, partID string, at jsontext.Value) ([]byte, error) {
	payload := map[string]any{"part_id": partID}
	if at != nil {
		payload["at"] = json.RawMessage(at)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode trigger: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/cameras/"+url.PathEscape(camera)+"/trigger", body)
	if err != nil {
		return nil, fmt.Errorf("send trigger: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return nil, refused("trigger", resp)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<10))
}

// verdicts opens the camera's verdict stream; the server has subscribed
// once the reply's headers are in.
func (c apiClient) verdicts(ctx context.Context, camera string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodGet, "/api/v1/verdicts/stream?camera="+url.QueryEscape(camera), nil)
	if err != nil {
		return nil, fmt.Errorf("open the verdict stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, refused("verdict stream", resp)
	}
	return resp.Body, nil
}

// waitVerdict reads server-sent events until the verdict of the part and
// returns its JSON.
func waitVerdict(stream io.Reader, camera, partID string) (json.RawMessage, error) {
	sc := bufio.NewScanner(stream)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var event string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			event = ""
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:") && event == "verdict":
			data := json.RawMessage(strings.TrimSpace(strings.TrimPrefix(line, "data:")))
			var v defects.Verdict
			if err := json.Unmarshal(data, &v); err != nil {
				return nil, fmt.Errorf("decode a verdict event: %w", err)
			}
			if v.Camera == camera && v.PartID == partID {
				return data, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("the appliance ended the verdict stream before the verdict came")
}

// atFlag is --at as the trigger's JSON value: digits are epoch
// milliseconds, anything else an RFC 3339 string; checked by the rule the
// appliance applies, so a typo fails here. nil for none.
func atFlag(v string) (jsontext.Value, error) {
	if v == "" {
		return nil, nil
	}
	raw := jsontext.Value(strconv.Quote(v))
	if strings.Trim(v, "0123456789") == "" {
		raw = jsontext.Value(v)
	}
	if _, err := trigger.ParseAt(raw); err != nil {
		return nil, fmt.Errorf("--at: %w", err)
	}
	return raw, nil
}

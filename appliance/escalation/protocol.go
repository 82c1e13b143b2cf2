// Package escalation is the edge-cloud hybrid: an appliance sends the frames
// its model is unsure about (UNCERTAIN, action escalate) to a larger model
// on another machine, `linesight serve`, and publishes that model's verdict,
// or, when the answer does not come in time, its own uncertain policy.
//
// The protocol (docs/edge.md): POST Path with a multipart/form-data body of
// three parts, "meta" (JSON Meta), "defects" (the defect-class YAML whose
// hash Meta.ConfigHash is) and "image" (the frame as JPEG), and the header
// "Authorization: Bearer <token>". The answer is 200 with the verdict as
// JSON; 401 for a wrong token, 400 for a malformed request, 409 when the
// defect YAML does not hash to ConfigHash, 422 when it has no class set for
// the camera, 503 while the server is not ready.
package escalation

import "time"

// Path is the escalation endpoint.
const Path = "/v1/escalate"

// Meta identifies the frame and the defect configuration it is judged by.
type Meta struct {
	Camera     string    `json:"camera"`
	Seq        uint64    `json:"seq"`
	PartID     string    `json:"part_id,omitempty"`
	CapturedAt time.Time `json:"captured_at"`
	ConfigHash string    `json:"config_hash"`
}

// Limits on a request.
const (
	maxImageBytes   = 16 << 20
	maxDefectsBytes = 1 << 20
	maxMetaBytes    = 16 << 10
)

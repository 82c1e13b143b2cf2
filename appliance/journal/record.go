package journal

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/linesight/linesight/defects"
)

// Record is one journaled inspection: the verdict as it was published, and
// what the journal adds to it.
type Record struct {
	ID uint64 `json:"id"`
	defects.Verdict
	// PublishedAt is when the broker acknowledged the verdict; zero until then.
	PublishedAt time.Time `json:"published_at,omitzero"`
	// OutboxDropped says why the verdict was never published (DroppedExpired,
	// DroppedFull, DroppedRefused), and OutboxDroppedAt when; empty when it
	// was published, is still waiting, or no MQTT link was configured.
	OutboxDropped   string    `json:"outbox_dropped,omitempty"`
	OutboxDroppedAt time.Time `json:"outbox_dropped_at,omitzero"`
	// Image is the stored JPEG, relative to the images folder; empty when
	// none was kept or it was evicted.
	Image string `json:"image,omitempty"`
	// Label is an engineer's judgement of the verdict (label.go); nil
	// until someone gives one.
	Label *Label `json:"label,omitempty"`
	// AnomalyMap is the verdict's quantised anomaly map, the window of the
	// stored image it covers and the region's box in that image's pixels;
	// nil without anomaly detection. Kept apart from the record's JSON.
	AnomalyMap *defects.AnomalyMap `json:"anomaly_map,omitempty"`
}

// pending is a record prepared for the writer: everything that costs CPU
// (JSON, the embedding's bytes) is done before it reaches the writer.
type pending struct {
	id        uint64
	at        time.Time // captured, the time every index and aggregate uses
	camera    string
	partID    string
	outcome   defects.Outcome
	class     string
	record    []byte // Record JSON
	embedding []byte
	image     string // relative path, "" for none
	imageSize int64
	keepTier  bool // the image is a FAIL/UNCERTAIN one, evicted last
	noOutbox  bool
	// verdictJSON is the verdict, encoded once: the record and the outbox
	// entry are spliced around it.
	verdictJSON []byte
	verdict     []byte      // outbox JSON
	entry       OutboxEntry // the outbox entry, for the link while commits fail
	anomalyMap  []byte      // anomaly_map JSON, nil for none
	// synced, when set, makes this a Sync request rather than a record:
	// the writer commits what it holds and answers on it.
	synced chan error
}

// recordTime is the time a verdict is filed under: when the part was
// captured (or triggered), else when it was decided.
func recordTime(v *defects.Verdict) time.Time {
	if !v.CapturedAt.IsZero() {
		return v.CapturedAt
	}
	return v.InferredAt
}

func newPending(id uint64, v defects.Verdict, image string, imageSize int64) (*pending, error) {
	vj, err := json.Marshal(&v) // a struct: always a JSON object
	if err != nil {
		return nil, fmt.Errorf("encode record %d: %w", id, err)
	}
	// The record's JSON is what json.Marshal of Record{ID, Verdict, Image}
	// gives (its other fields are empty on a new record), made from the
	// verdict's bytes rather than encoding the verdict a second time.
	rec := fmt.Appendf(make([]byte, 0, len(vj)+len(image)+40), `{"id":%d`, id)
	if len(vj) > 2 {
		rec = append(append(rec, ','), vj[1:len(vj)-1]...)
	}
	if image != "" {
		name, _ := json.Marshal(image)
		rec = append(append(rec, `,"image":`...), name...)
	}
	rec = append(rec, '}')
	p := &pending{
		id: id, at: recordTime(&v), camera: v.Camera, partID: v.PartID, outcome: v.Outcome, class: v.Class,
		record: rec, image: image, imageSize: imageSize, verdictJSON: vj,
		keepTier: v.Outcome == defects.Fail || v.Outcome == defects.Uncertain,
	}
	if len(v.Embedding) > 0 {
		p.embedding = make([]byte, 4*len(v.Embedding))
		for i, f := range v.Embedding {
			binary.LittleEndian.PutUint32(p.embedding[4*i:], math.Float32bits(f))
		}
	}
	return p, nil
}

// queue makes the record's outbox entry, queued at queuedAt.
func (p *pending) queue(v defects.Verdict, queuedAt time.Time) error {
	at, err := json.Marshal(queuedAt)
	if err != nil {
		return fmt.Errorf("encode outbox entry %d: %w", p.id, err)
	}
	// outboxValue's JSON, around the verdict's bytes.
	b := make([]byte, 0, len(p.verdictJSON)+len(at)+28)
	b = append(append(append(b, `{"verdict":`...), p.verdictJSON...), `,"queued_at":`...)
	p.verdict = append(append(b, at...), '}')
	v.Embedding = nil // kept in the record's own bucket, never published
	p.entry = OutboxEntry{ID: p.id, Verdict: v, QueuedAt: queuedAt}
	return nil
}

func decodeEmbedding(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// timeKey is captured ns + id: unique, and in time order.
func timeKey(prefix []byte, at time.Time, id uint64) []byte {
	k := make([]byte, 0, len(prefix)+16)
	k = append(k, prefix...)
	k = binary.BigEndian.AppendUint64(k, nanos(at))
	return binary.BigEndian.AppendUint64(k, id)
}

func nanos(t time.Time) uint64 {
	if t.IsZero() || t.UnixNano() < 0 {
		return 0
	}
	return uint64(t.UnixNano())
}

func partPrefix(partID string) []byte { return append([]byte(partID), 0) }

// summary is what the time and part indexes hold for each record, so that
// filters by camera, outcome or class need not decode the record.
type summary struct {
	outcome defects.Outcome
	camera  string
	class   string
}

var outcomeCodes = []defects.Outcome{defects.Pass, defects.Fail, defects.Uncertain, defects.Missed}

func outcomeCode(o defects.Outcome) byte {
	for i, c := range outcomeCodes {
		if c == o {
			return byte(i)
		}
	}
	return 255
}

func (s summary) encode() []byte {
	b := []byte{outcomeCode(s.outcome)}
	b = binary.AppendUvarint(b, uint64(len(s.camera)))
	b = append(b, s.camera...)
	b = binary.AppendUvarint(b, uint64(len(s.class)))
	return append(b, s.class...)
}

func decodeSummary(b []byte) (summary, bool) {
	if len(b) < 1 {
		return summary{}, false
	}
	var s summary
	if int(b[0]) < len(outcomeCodes) {
		s.outcome = outcomeCodes[b[0]]
	}
	b = b[1:]
	str := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return "", false
		}
		v := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return v, true
	}
	var ok1, ok2 bool
	s.camera, ok1 = str()
	s.class, ok2 = str()
	return s, ok1 && ok2
}

package defects

import (
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// threeClassSet has the good class along x, scratch along y and dent along z,
// so an image embedding's cosines can be read straight off its coordinates.
func threeClassSet(goodT, scratchT, dentT float64) (*ClassSet, *fakeEncoder) {
	set := &ClassSet{Name: "s", Uncertain: ActionEscalate, ConfigHash: "sha256:cfg", Classes: []Class{
		{Name: "good", Good: true, Prompts: []string{"good part"}, Threshold: goodT},
		{Name: "scratch", Prompts: []string{"scratched part"}, Threshold: scratchT},
		{Name: "dent", Prompts: []string{"dented part"}, Threshold: dentT},
	}}
	enc := &fakeEncoder{vectors: map[string][]float32{
		"good part": {2, 0, 0}, "scratched part": {0, 5, 0}, "dented part": {0, 0, 0.5},
	}}
	return set, enc
}

func TestScoreVerdictRule(t *testing.T) {
	ln8 := math.Log(8)
	// With logit scale ln 8, a unit image along one axis has logits
	// (ln 8, 0, 0) in some order, so the exponentials are 8, 1, 1 and the
	// probabilities 8/10, 1/10, 1/10.
	// With scale √2·ln 8, the image (1,1,0)/√2 has cosines 1/√2, 1/√2, 0:
	// logits ln 8, ln 8, 0, exponentials 8, 8, 1, probabilities 8/17, 8/17, 1/17.
	tests := []struct {
		name                     string
		goodT, scratchT, dentT   float64
		scale                    float64
		image                    []float32
		wantScores               [3]float64
		wantOutcome              Outcome
		wantAction               Action
		wantClass                string
		wantConfidence, wantDefS float64
	}{
		{"good part passes", 0.7, 0.5, 0.5, ln8, []float32{1, 0, 0},
			[3]float64{0.8, 0.1, 0.1}, Pass, ActionPass, "good", 0.8, 0.2},
		{"length of the image does not matter", 0.7, 0.5, 0.5, ln8, []float32{40, 0, 0},
			[3]float64{0.8, 0.1, 0.1}, Pass, ActionPass, "good", 0.8, 0.2},
		{"scratch fails", 0.7, 0.5, 0.5, ln8, []float32{0, 3, 0},
			[3]float64{0.1, 0.8, 0.1}, Fail, ActionReject, "scratch", 0.8, 0.9},
		{"good below its threshold is uncertain", 0.9, 0.5, 0.5, ln8, []float32{1, 0, 0},
			[3]float64{0.8, 0.1, 0.1}, Uncertain, ActionEscalate, "good", 0.8, 0.2},
		{"a less probable defect past its threshold fails", 0.7, 0.9, 0.05, ln8, []float32{0, 1, 0},
			[3]float64{0.1, 0.8, 0.1}, Fail, ActionReject, "dent", 0.1, 0.9},
		{"two defects past threshold: the more probable", 0.7, 0.05, 0.05, ln8, []float32{0, 0, 1},
			[3]float64{0.1, 0.1, 0.8}, Fail, ActionReject, "dent", 0.8, 0.9},
		{"defect beats a confident good class", 0.5, 0.1, 0.5, ln8, []float32{1, 0, 0},
			[3]float64{0.8, 0.1, 0.1}, Fail, ActionReject, "scratch", 0.1, 0.2},
		{"tie below thresholds is uncertain, first class named", 0.5, 0.5, 0.5, math.Sqrt2 * ln8, []float32{1, 1, 0},
			[3]float64{8.0 / 17, 8.0 / 17, 1.0 / 17}, Uncertain, ActionEscalate, "good", 8.0 / 17, 9.0 / 17},
		{"threshold is reached at equality", 0.8, 0.9, 0.9, ln8, []float32{1, 0, 0},
			[3]float64{0.8, 0.1, 0.1}, Pass, ActionPass, "good", 0.8, 0.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, enc := threeClassSet(tt.goodT, tt.scratchT, tt.dentT)
			s, err := Prepare(set, nil, enc, "sha256:model", tt.scale)
			if err != nil {
				t.Fatal(err)
			}
			r := s.Score(tt.image)
			const tol = 1e-9
			names := []string{"good", "scratch", "dent"}
			if len(r.Scores) != 3 {
				t.Fatalf("scores = %v", r.Scores)
			}
			for i, want := range tt.wantScores {
				if r.Scores[i].Class != names[i] || math.Abs(r.Scores[i].Score-want) > tol {
					t.Errorf("score %d = %+v, want %s %.6f", i, r.Scores[i], names[i], want)
				}
			}
			if r.Outcome != tt.wantOutcome || r.Action != tt.wantAction || r.Class != tt.wantClass {
				t.Errorf("verdict = %s/%s/%s, want %s/%s/%s", r.Outcome, r.Action, r.Class, tt.wantOutcome, tt.wantAction, tt.wantClass)
			}
			if math.Abs(r.Confidence-tt.wantConfidence) > tol || math.Abs(r.DefectScore-tt.wantDefS) > tol {
				t.Errorf("confidence %.6f defect score %.6f, want %.6f %.6f", r.Confidence, r.DefectScore, tt.wantConfidence, tt.wantDefS)
			}
		})
	}
}

func TestScoreUnusableEmbedding(t *testing.T) {
	set, enc := threeClassSet(0.5, 0.5, 0.5)
	set.Uncertain = ActionReject
	s, err := Prepare(set, nil, enc, "sha256:model", 100)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		image  []float32
		reason string
	}{
		{"wrong size", []float32{1, 0}, "image embedding has 2 dimensions, the class embeddings 3"},
		{"zero", []float32{0, 0, 0}, "image embedding has length 0"},
		{"NaN", []float32{float32(math.NaN()), 1, 0}, "image embedding has length NaN"},
	}
	for _, tt := range tests {
		r := s.Score(tt.image)
		if r.Outcome != Uncertain || r.Action != ActionReject || r.Reason != tt.reason || r.Scores != nil {
			t.Errorf("%s: %+v, want UNCERTAIN/reject with reason %q and no scores", tt.name, r, tt.reason)
		}
	}
}

func TestPrepareAveragesTheEnsemble(t *testing.T) {
	// Prompt embeddings (2,0,0) and (0,0,5) become (1,0,0) and (0,0,1);
	// their mean (½,0,½) renormalised is (1/√2, 0, 1/√2). Without the first
	// normalisation the mean would lean towards the longer (0,0,5).
	set := &ClassSet{Name: "s", Uncertain: ActionReject, Classes: []Class{
		{Name: "good", Good: true, Prompts: []string{"p1", "p2"}, Threshold: 0.5},
		{Name: "bad", Prompts: []string{"p3"}, Threshold: 0.5},
	}}
	enc := &fakeEncoder{vectors: map[string][]float32{"p1": {2, 0, 0}, "p2": {0, 0, 5}, "p3": {0, -1, 0}}}
	s, err := Prepare(set, nil, enc, "sha256:m", 100)
	if err != nil {
		t.Fatal(err)
	}
	h := 1 / math.Sqrt2
	want := [][]float64{{h, 0, h}, {0, -1, 0}}
	for i, row := range s.classes {
		for j := range row {
			if math.Abs(float64(row[j])-want[i][j]) > 1e-6 {
				t.Errorf("class %d embedding = %v, want %v", i, row, want[i])
				break
			}
		}
	}
	if s.Dim() != 3 || s.ModelDigest() != "sha256:m" {
		t.Errorf("Dim %d digest %s", s.Dim(), s.ModelDigest())
	}
}

func TestPrepareErrors(t *testing.T) {
	set, enc := threeClassSet(0.5, 0.5, 0.5)
	tests := []struct {
		name    string
		set     *ClassSet
		enc     *fakeEncoder
		scale   float64
		wantErr string
	}{
		{"zero logit scale", set, enc, 0, "logit scale 0 is not a positive number"},
		{"NaN logit scale", set, enc, math.NaN(), "logit scale NaN"},
		{"no defect class", &ClassSet{Name: "s", Classes: set.Classes[:1]}, enc, 100, "at least one defect class"},
		{"zero prompt embedding", set, &fakeEncoder{vectors: map[string][]float32{"dented part": {0, 0, 0}}}, 100, `class "dent": prompt 0 has an embedding of length 0`},
	}
	for _, tt := range tests {
		if _, err := Prepare(tt.set, nil, tt.enc, "sha256:m", tt.scale); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestPrepareWithCacheAcrossRestart(t *testing.T) {
	f, err := Load(filepath.Join("testdata", "classes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.SetFor("line1/cam0")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "text.db")
	enc := &fakeEncoder{}
	var firstClasses [][]float32
	for restart := range 2 {
		c := openTestCache(t, path)
		s, err := Prepare(set, c, enc, "sha256:m", 100)
		if err != nil {
			t.Fatal(err)
		}
		// 6 good prompts, 2 scratch, 1 dent, all encoded once, in one batch.
		if enc.calls() != 1 || len(enc.encoded()) != 9 {
			t.Errorf("restart %d: encoder batches %v, want one batch of 9 prompts", restart, enc)
		}
		if s.ConfigHash() != f.Hash() {
			t.Errorf("scorer hash %s, want the file's %s", s.ConfigHash(), f.Hash())
		}
		if restart == 0 {
			firstClasses = s.classes
		} else if !reflect.DeepEqual(s.classes, firstClasses) {
			t.Errorf("class embeddings differ after restart")
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScoreAllocations(t *testing.T) {
	set, enc := threeClassSet(0.5, 0.5, 0.5)
	s, err := Prepare(set, nil, enc, "sha256:m", 100)
	if err != nil {
		t.Fatal(err)
	}
	image := []float32{0.3, 0.2, 0.1}
	var r Result
	if n := testing.AllocsPerRun(100, func() { s.ScoreInto(image, &r) }); n != 0 {
		t.Errorf("ScoreInto with a reused result allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = s.Score(image) }); n != 1 {
		t.Errorf("Score allocates %v times, want 1 (the scores)", n)
	}
}

func TestVerdictRecord(t *testing.T) {
	set, enc := threeClassSet(0.7, 0.5, 0.5)
	s, err := Prepare(set, nil, enc, "sha256:model", math.Log(8))
	if err != nil {
		t.Fatal(err)
	}
	captured := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	c := Capture{Camera: "line1/cam0", Seq: 42, PartID: "P-7", CapturedAt: captured, Truth: &Truth{PartType: "bracket", Defect: "scratch"}}
	emb := []float32{0, 1, 0}
	v := s.NewVerdict(c, s.Score(emb), emb, captured.Add(35*time.Millisecond))

	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"camera":       "line1/cam0",
		"seq":          42.0,
		"part_id":      "P-7",
		"captured_at":  "2025-03-01T12:00:00Z",
		"inferred_at":  "2025-03-01T12:00:00.035Z",
		"outcome":      "FAIL",
		"action":       "reject",
		"class":        "scratch",
		"confidence":   got["confidence"], // checked below with a tolerance
		"scores":       got["scores"],
		"model_digest": "sha256:model",
		"config_hash":  "sha256:cfg",
		"latency_ns":   35e6,
		"truth":        map[string]any{"part_type": "bracket", "defect": "scratch"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("verdict JSON =\n%s\nwant keys and values\n%v", data, want)
	}
	if c := got["confidence"].(float64); math.Abs(c-0.8) > 1e-9 {
		t.Errorf("confidence %v, want 0.8", c)
	}
	scores := got["scores"].([]any)
	for i, name := range []string{"good", "scratch", "dent"} {
		if scores[i].(map[string]any)["class"] != name {
			t.Errorf("scores order = %v, want good, scratch, dent", scores)
		}
	}
	if len(v.Embedding) != 3 {
		t.Errorf("the verdict should keep the embedding for the journal")
	}

	m := MissedVerdict("line1/cam0", 43, "P-8", captured, captured.Add(time.Second), ActionReject, "no frame within 500ms")
	if m.Outcome != Missed || m.Action != ActionReject || m.Latency != time.Second || m.Class != "" || m.Scores != nil {
		t.Errorf("missed verdict = %+v", m)
	}
}

// BenchmarkScoreInto scores a ViT-L/14-sized embedding against eight classes.
func BenchmarkScoreInto(b *testing.B) {
	const dim, classes = 768, 8
	set := &ClassSet{Name: "s", Uncertain: ActionReject}
	vectors := map[string][]float32{}
	for i := range classes {
		name := "class" + string(rune('a'+i))
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(math.Sin(float64(i*dim + j)))
		}
		vectors[name] = v
		set.Classes = append(set.Classes, Class{Name: name, Good: i == 0, Prompts: []string{name}, Threshold: 0.5})
	}
	s, err := Prepare(set, nil, &fakeEncoder{vectors: vectors}, "sha256:m", 100)
	if err != nil {
		b.Fatal(err)
	}
	image := vectors["classc"]
	var r Result
	b.ReportAllocs()
	for b.Loop() {
		s.ScoreInto(image, &r)
	}
}

package defects

import (
	"errors"
	"fmt"
	"math"
)

// Scorer scores image embeddings against one class set. It is immutable
// after Prepare and safe for concurrent use.
type Scorer struct {
	set        *ClassSet
	classes    [][]float32 // one unit-length embedding per class, in set order
	logitScale float64
	digest     string
}

// Result is the scoring of one image.
type Result struct {
	Outcome Outcome
	// Action is pass for PASS, reject for FAIL and the set's uncertain
	// policy for UNCERTAIN.
	Action Action
	// Class is the defect class for FAIL, the good class for PASS and the
	// most probable class for UNCERTAIN.
	Class      string
	Confidence float64 // the probability of Class
	// Scores are the class probabilities in the set's class order.
	Scores []ClassScore
	// DefectScore is the probability that the part is not good (the sum of
	// the defect classes' probabilities): the anomaly score to rank by.
	DefectScore float64
	// Reason explains an UNCERTAIN that comes from an unusable embedding.
	Reason string
}

// Prepare embeds every class's prompts (through the cache when there is one)
// and builds the scorer. Each class embedding is a prompt ensemble: every
// prompt embedding is scaled to unit length, they are averaged, and the mean
// is scaled to unit length again, so each phrasing weighs the same whatever
// its norm. digest names the model for the cache and the verdicts;
// logitScale is CLIP's trained temperature (100 for OpenAI's models).
func Prepare(set *ClassSet, cache *Cache, enc TextEncoder, digest string, logitScale float64) (*Scorer, error) {
	if set == nil || len(set.Classes) < 2 {
		return nil, errors.New("prepare scorer: a class set needs a good class and at least one defect class")
	}
	if !(logitScale > 0) || math.IsInf(logitScale, 0) {
		return nil, fmt.Errorf("prepare scorer for set %q: logit scale %g is not a positive number", set.Name, logitScale)
	}
	var prompts []string
	for _, c := range set.Classes {
		prompts = append(prompts, c.Prompts...)
	}
	var rows [][]float32
	var err error
	if cache != nil {
		rows, err = cache.Embed(digest, enc, prompts)
	} else {
		rows, err = encodeChecked(enc, prompts)
	}
	if err != nil {
		return nil, fmt.Errorf("prepare scorer for set %q: %w", set.Name, err)
	}
	s := &Scorer{set: set, logitScale: logitScale, digest: digest}
	for _, c := range set.Classes {
		mean, err := ensembleMean(rows[:len(c.Prompts)])
		if err != nil {
			return nil, fmt.Errorf("prepare scorer for set %q: class %q: %w", set.Name, c.Name, err)
		}
		s.classes = append(s.classes, mean)
		rows = rows[len(c.Prompts):]
	}
	return s, nil
}

// ClassEmbedding is a class's embedding from its prompts' text embeddings, as
// Prepare makes it: the renormalised mean of the unit-length rows. The
// anomaly maps' zero-shot classes use it too.
func ClassEmbedding(rows [][]float32) ([]float32, error) { return ensembleMean(rows) }

// ensembleMean is the renormalised mean of the unit-length rows.
func ensembleMean(rows [][]float32) ([]float32, error) {
	if len(rows) == 0 {
		return nil, errors.New("no prompts")
	}
	sum := make([]float64, len(rows[0]))
	for i, r := range rows {
		n := norm(r)
		if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, fmt.Errorf("prompt %d has an embedding of length %g", i, n)
		}
		for j, x := range r {
			sum[j] += float64(x) / n
		}
	}
	var sq float64
	for _, x := range sum {
		sq += x * x
	}
	if sq == 0 {
		return nil, errors.New("the prompt embeddings cancel out (their mean is zero)")
	}
	n := math.Sqrt(sq)
	out := make([]float32, len(sum))
	for j, x := range sum {
		out[j] = float32(x / n)
	}
	return out, nil
}

func norm(v []float32) float64 {
	var sq float64
	for _, x := range v {
		sq += float64(x) * float64(x)
	}
	return math.Sqrt(sq)
}

// Set returns the class set the scorer was built from.
func (s *Scorer) Set() *ClassSet { return s.set }

// ClassEmbeddings are the unit class embeddings in set order, the good
// class first: what the image is scored against, and what the zero-shot
// anomaly map compares each patch with. The slices are shared: do not
// change them.
func (s *Scorer) ClassEmbeddings() [][]float32 { return s.classes }

// LogitScale is exp(logit_scale) the scorer uses.
func (s *Scorer) LogitScale() float64 { return s.logitScale }

// ModelDigest returns the digest of the model whose text embeddings it uses.
func (s *Scorer) ModelDigest() string { return s.digest }

// ConfigHash returns the hash of the defect file the set came from.
func (s *Scorer) ConfigHash() string { return s.set.ConfigHash }

// Dim is the embedding size it expects.
func (s *Scorer) Dim() int { return len(s.classes[0]) }

// Score scores one image embedding. It allocates only the result's Scores;
// ScoreInto reuses them.
func (s *Scorer) Score(image []float32) Result {
	var r Result
	s.ScoreInto(image, &r)
	return r
}

// ScoreInto scores one image embedding into r, reusing r.Scores' storage, and
// allocates nothing once that storage is large enough. Scores are therefore
// overwritten by the next call with the same r.
//
// The probabilities are softmax(logitScale * cos(image, class)). The verdict:
// FAIL when a defect class reaches its threshold (the most probable such
// class; the first in set order on a tie), else PASS when the good class
// reaches its threshold, else UNCERTAIN with the set's policy as the action.
// An embedding of the wrong size, zero length or with NaNs is UNCERTAIN with
// a Reason and no scores: a bad input must not pass a part.
func (s *Scorer) ScoreInto(image []float32, r *Result) {
	scores := r.Scores[:0]
	*r = Result{Outcome: Uncertain, Action: s.set.Uncertain}
	imageNorm := norm(image)
	switch {
	case len(image) != s.Dim():
		r.Reason = fmt.Sprintf("image embedding has %d dimensions, the class embeddings %d", len(image), s.Dim())
		return
	case imageNorm == 0 || math.IsNaN(imageNorm) || math.IsInf(imageNorm, 0):
		r.Reason = fmt.Sprintf("image embedding has length %g", imageNorm)
		return
	}
	if cap(scores) < len(s.classes) {
		scores = make([]ClassScore, 0, len(s.classes))
	}

	maxLogit := math.Inf(-1)
	for i, c := range s.classes {
		var dot float64
		for j, x := range c {
			dot += float64(x) * float64(image[j])
		}
		logit := s.logitScale * dot / imageNorm
		scores = append(scores, ClassScore{Class: s.set.Classes[i].Name, Score: logit})
		maxLogit = math.Max(maxLogit, logit)
	}
	var sum float64
	for i := range scores {
		scores[i].Score = math.Exp(scores[i].Score - maxLogit)
		sum += scores[i].Score
	}
	for i := range scores {
		scores[i].Score /= sum
	}
	r.Scores = scores

	best, fail := 0, -1
	for i := range scores {
		if scores[i].Score > scores[best].Score {
			best = i
		}
		if i > 0 {
			r.DefectScore += scores[i].Score
			if scores[i].Score >= s.set.Classes[i].Threshold && (fail < 0 || scores[i].Score > scores[fail].Score) {
				fail = i
			}
		}
	}
	switch {
	case fail > 0:
		r.Outcome, r.Action, r.Class, r.Confidence = Fail, ActionReject, scores[fail].Class, scores[fail].Score
	case scores[0].Score >= s.set.Classes[0].Threshold:
		r.Outcome, r.Action, r.Class, r.Confidence = Pass, ActionPass, scores[0].Class, scores[0].Score
	default:
		r.Class, r.Confidence = scores[best].Class, scores[best].Score
	}
}

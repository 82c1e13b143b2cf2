package benchmodels

import (
	"math"
	"testing"
)

// onehot is a unit vector along axis k of dim.
func onehot(dim, k int, scale float32) []float32 {
	v := make([]float32, dim)
	v[k] = scale
	return v
}

// resultFor makes a child's answer where every prompt of class k embeds to
// axis k, and the images are the given embeddings.
func resultFor(t *testing.T, images [][]float32) *ChildResult {
	t.Helper()
	set, err := loadClassSet("", "")
	if err != nil {
		t.Fatal(err)
	}
	dim := len(set.Classes)
	r := &ChildResult{Digest: "sha256:test", LogitScale: 100, ImageEmbeds: images}
	for k, c := range set.Classes {
		for range c.Prompts {
			r.PromptEmbeds = append(r.PromptEmbeds, onehot(dim, k, 1))
		}
	}
	return r
}

func TestAgreementCountsCosinesAndVerdicts(t *testing.T) {
	set, err := loadClassSet("", "")
	if err != nil {
		t.Fatal(err)
	}
	dim := len(set.Classes) // good, scratch, dent, ...
	ref := resultFor(t, [][]float32{onehot(dim, 0, 3), onehot(dim, 1, 2), onehot(dim, 2, 1), onehot(dim, 3, 1)})
	// The variant sees image 0 and 1 alike (1 only scaled), image 2 as
	// another class, and could not read image 3.
	got := resultFor(t, [][]float32{onehot(dim, 0, 3), onehot(dim, 1, 5), onehot(dim, 4, 1), nil})
	a, err := agree(set, ref, got)
	if err != nil {
		t.Fatal(err)
	}
	if a.Images != 3 {
		t.Errorf("%d images compared, want 3 (the unreadable one left out)", a.Images)
	}
	if math.Abs(a.CosineMean-2.0/3) > 1e-12 || a.CosineMin != 0 {
		t.Errorf("cosine mean %g min %g, want 2/3 and 0", a.CosineMean, a.CosineMin)
	}
	if math.Abs(a.VerdictAgreement-2.0/3) > 1e-12 {
		t.Errorf("verdict agreement %g, want 2/3", a.VerdictAgreement)
	}

	same, err := agree(set, ref, ref)
	if err != nil || same.CosineMin != 1 || same.VerdictAgreement != 1 {
		t.Errorf("fp32 against itself: %+v, %v", same, err)
	}
}

func TestAgreementUsesEachVariantsPrompts(t *testing.T) {
	set, err := loadClassSet("", "")
	if err != nil {
		t.Fatal(err)
	}
	dim := len(set.Classes)
	imgs := [][]float32{onehot(dim, 1, 1)}
	ref := resultFor(t, imgs)
	got := resultFor(t, imgs)
	// The variant's text tower puts scratch prompts on dent's axis: the same
	// image embedding then no longer gives the same verdict.
	k := 0
	for ci, c := range set.Classes {
		for range c.Prompts {
			if ci == 1 {
				got.PromptEmbeds[k] = onehot(dim, 2, 1)
			}
			k++
		}
	}
	a, err := agree(set, ref, got)
	if err != nil {
		t.Fatal(err)
	}
	if a.CosineMin != 1 || a.VerdictAgreement != 0 {
		t.Errorf("cosine %g, verdict agreement %g; want 1 and 0", a.CosineMin, a.VerdictAgreement)
	}
}

func TestClassSetFromFile(t *testing.T) {
	s, err := loadClassSet("../../defects/testdata/classes.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "brackets" {
		t.Errorf("default camera's set is %q, want brackets", s.Name)
	}
	if _, err := loadClassSet("../../defects/testdata/classes.yaml", "nope"); err == nil {
		t.Error("an unknown set gave no error")
	}
}

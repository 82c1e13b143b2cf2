package eval

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
)

// OutcomeMetrics is the PASS/FAIL level of a report, what the line sees:
// good parts should PASS and defective ones FAIL, whatever the class.
type OutcomeMetrics struct {
	Outcome   string `json:"outcome"`   // PASS or FAIL
	Support   int    `json:"support"`   // samples that should get it: good for PASS, defective for FAIL
	Predicted int    `json:"predicted"` // samples that got it
	Correct   int    `json:"correct"`   // both
	Precision Metric `json:"precision"` // Correct / Predicted
	Recall    Metric `json:"recall"`    // Correct / Support
}

// ClassConfusion counts samples by true class (rows) and the class the
// verdict decided (columns): GoodClass for PASS, the class of a FAIL, and
// the outcome itself (UNCERTAIN, MISSED) when it decided none.
type ClassConfusion struct {
	Labels    []string `json:"labels"`    // GoodClass first, then the others sorted
	Predicted []string `json:"predicted"` // GoodClass first, classes sorted, then UNCERTAIN and MISSED as seen
	Counts    [][]int  `json:"counts"`    // Counts[label][predicted]
}

func outcomeMetrics(samples []Sample) []OutcomeMetrics {
	pass, fail := OutcomeMetrics{Outcome: "PASS"}, OutcomeMetrics{Outcome: "FAIL"}
	for _, s := range samples {
		if s.Good {
			pass.Support++
		} else {
			fail.Support++
		}
		switch s.Outcome {
		case "PASS":
			pass.Predicted++
			if s.Good {
				pass.Correct++
			}
		case "FAIL":
			fail.Predicted++
			if !s.Good {
				fail.Correct++
			}
		}
	}
	out := []OutcomeMetrics{pass, fail}
	for i := range out {
		out[i].Precision, out[i].Recall = ratio(out[i].Correct, out[i].Predicted), ratio(out[i].Correct, out[i].Support)
	}
	return out
}

// decided is the column of a sample in the class confusion.
func decided(s Sample) string {
	if c, ok := predictedClass(s); ok {
		return c
	}
	return s.Outcome
}

func classConfusion(samples []Sample) ClassConfusion {
	var labels, classes, others []string
	for _, s := range samples {
		if l := trueClass(s); !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
		d := decided(s)
		if _, ok := predictedClass(s); ok && !slices.Contains(classes, d) {
			classes = append(classes, d)
		} else if !ok && !slices.Contains(others, d) {
			others = append(others, d)
		}
	}
	c := ClassConfusion{Labels: goodFirst(labels), Predicted: append(goodFirst(classes), sorted(others)...)}
	c.Counts = make([][]int, len(c.Labels))
	for i := range c.Counts {
		c.Counts[i] = make([]int, len(c.Predicted))
	}
	for _, s := range samples {
		c.Counts[slices.Index(c.Labels, trueClass(s))][slices.Index(c.Predicted, decided(s))]++
	}
	return c
}

// writeOutcomeLevels renders the PASS/FAIL level.
func writeOutcomeLevels(b *strings.Builder, r Report) {
	b.WriteString("\nper outcome (PASS: good parts passed, FAIL: defective parts rejected)\n")
	w := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "outcome\tsupport\tpredicted\tcorrect\tprecision\trecall\t")
	for _, o := range r.Outcomes {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\t%s\t\n", o.Outcome, o.Support, o.Predicted, o.Correct, o.Precision, o.Recall)
	}
	w.Flush()
}

// writeClassConfusion renders the class confusion.
func writeClassConfusion(b *strings.Builder, r Report) {
	c := r.ClassConfusion
	b.WriteString("\nclass confusion (rows: truth, columns: decided class)\n")
	w := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "\t%s\t\n", strings.Join(c.Predicted, "\t"))
	for i, label := range c.Labels {
		fmt.Fprintf(w, "%s\t", label)
		for _, n := range c.Counts[i] {
			fmt.Fprintf(w, "%d\t", n)
		}
		fmt.Fprintln(w)
	}
	w.Flush()
}

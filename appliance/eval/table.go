package eval

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Table renders the report as aligned text for a terminal.
func (r Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "samples   %d (good %d, defective %d)\n", r.Samples, r.Good, r.Defective)
	fmt.Fprintf(&b, "AUROC     %s (image level, by defect score)\n", r.AUROC)
	fmt.Fprintf(&b, "accuracy  %s (good -> PASS, defective -> FAIL)\n", r.Accuracy)
	writeOutcomeLevels(&b, r)

	b.WriteString("\nconfusion (rows: truth, columns: outcome)\n")
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "\t%s\t\n", strings.Join(r.Confusion.Outcomes, "\t"))
	for i, label := range r.Confusion.Labels {
		fmt.Fprintf(w, "%s\t", label)
		for _, n := range r.Confusion.Counts[i] {
			fmt.Fprintf(w, "%d\t", n)
		}
		fmt.Fprintln(w)
	}
	w.Flush()
	writeClassConfusion(&b, r)

	b.WriteString("\nper class\n")
	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "class\tsupport\tpredicted\tcorrect\tprecision\trecall\tAUROC vs good\t")
	for _, c := range r.Classes {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t\n", c.Class, c.Support, c.Predicted, c.Correct, c.Precision, c.Recall, c.AUROC)
	}
	w.Flush()
	return b.String()
}

// Table renders the anomaly report as aligned text for a terminal.
func (r AnomalyReport) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "anomaly samples  %d (good %d, defective %d)\n", r.Samples, r.Good, r.Defective)
	fmt.Fprintf(&b, "image AUROC      %s (by anomaly score)\n", r.ImageAUROC)
	pixel := fmt.Sprintf("%s (over %d images", r.PixelAUROC, r.PixelImages)
	if r.MasksMissing > 0 {
		pixel += fmt.Sprintf("; %d defective without a mask left out", r.MasksMissing)
	}
	if r.PixelsLeftOut > 0 {
		pixel += fmt.Sprintf("; %d pixels outside the model's window left out, %d of them defect", r.PixelsLeftOut, r.DefectPixelsLeftOut)
	}
	fmt.Fprintf(&b, "pixel AUROC      %s)\n", pixel)
	if len(r.Kinds) > 0 {
		w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "kind\tsupport\timage AUROC vs good\t")
		for _, k := range r.Kinds {
			fmt.Fprintf(w, "%s\t%d\t%s\t\n", k.Kind, k.Support, k.AUROC)
		}
		w.Flush()
	}
	return b.String()
}

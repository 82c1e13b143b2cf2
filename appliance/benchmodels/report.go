package benchmodels

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the report as a table with its context above it.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "bundle     %s", r.Bundle)
	if r.Preset != "" {
		fmt.Fprintf(w, " (preset %s)", r.Preset)
	}
	if r.Synthetic {
		fmt.Fprint(w, ", random weights")
	}
	fmt.Fprintf(w, "\nmachine    %s\n", r.Machine)
	fmt.Fprintf(w, "runtime    ONNX Runtime %s, %s threads; model %.3g GFLOP per image; best of %d round(s)\n", r.ORTVersion, threadsText(r.Threads), r.GFLOPPerImage, r.Repeat)
	fmt.Fprintf(w, "agreement  %s, class set %q\n\n", r.Images, r.ClassSet)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tvision MB\ttotal MB\tload s\tpeak RSS MB\timg/s b1\timg/s best (b)\tp50 ms b1\tp99 ms b1\tGFLOP/s\t% peak\tx fp32\tCPU-time img/s\t% peak\tx fp32\tcos mean\tcos min\tverdicts\tdense ms b1 (embeds only)\tdense +%\t")
	for _, v := range r.Variants {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.2f\t%.0f\t%.2f\t%.2f (%d)\t%.1f\t%.1f\t%.1f\t%.0f\t%.2f\t%.2f\t%.0f\t%.2f\t%.5f\t%.5f\t%.1f%%\t%s\t%s\t\n",
			v.Name, mb(v.VisionBytes), mb(v.TotalBytes), v.LoadTime.Seconds(), mb(v.PeakRSS),
			v.Batch1.ImagesPerS, v.Best.ImagesPerS, v.Best.Batch, ms(v.Batch1.P50), ms(v.Batch1.P99),
			v.GFLOPS, 100*v.PeakShare, v.Speedup, v.BestCPU, 100*v.CPUPeakShare, v.CPUSpeedup,
			v.Agreement.CosineMean, v.Agreement.CosineMin, 100*v.Agreement.VerdictAgreement,
			denseLatency(v.Dense), denseOverhead(v.Dense))
	}
	return tw.Flush()
}

// WriteBatches prints images/s for every batch size of every variant.
func (r *Report) WriteBatches(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var head strings.Builder
	head.WriteString("variant\t")
	if len(r.Variants) > 0 {
		for _, b := range r.Variants[0].Batches {
			fmt.Fprintf(&head, "b%d img/s\tCPU-time\tp50 ms\tp99 ms\t", b.Batch)
		}
	}
	fmt.Fprintln(tw, head.String())
	for _, v := range r.Variants {
		fmt.Fprintf(tw, "%s\t", v.Name)
		for _, b := range v.Batches {
			fmt.Fprintf(tw, "%.2f\t%.2f\t%.1f\t%.1f\t", b.ImagesPerS, b.CPUImagesPerS, ms(b.P50), ms(b.P99))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// WriteJSON writes the report to path, indented.
func (r *Report) WriteJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// denseLatency is "with patches (embeds only)" in ms, "-" when not measured.
func denseLatency(d *DenseCost) string {
	if d == nil {
		return "-"
	}
	return fmt.Sprintf("%s (%s)", latencyMS(d.WithPatches), latencyMS(d.EmbedsOnly))
}

// latencyMS keeps three significant digits below 10 ms, where a tiny
// model's runs are.
func latencyMS(d time.Duration) string {
	if v := ms(d); v < 10 {
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.1f", ms(d))
}

func denseOverhead(d *DenseCost) string {
	if d == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", 100*d.Overhead)
}

func mb(b int64) float64         { return float64(b) / (1 << 20) }
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func threadsText(n int) string {
	if n <= 0 {
		return "ORT's default number of"
	}
	return fmt.Sprint(n)
}

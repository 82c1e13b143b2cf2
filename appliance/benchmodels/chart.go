package benchmodels

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WriteChart draws images/s per variant, at batch 1, at the best batch size
// and as estimated from CPU time, as grouped bars in a PNG (gonum.org/v1/plot); each variant's label
// carries its mean cosine to fp32.
func (r *Report) WriteChart(path string) error {
	if len(r.Variants) == 0 {
		return fmt.Errorf("chart: no variants measured")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s on %s", chartName(r), r.Machine.Model)
	p.Y.Label.Text = "images/s"
	var b1, best, cpu plotter.Values
	var labels []string
	for _, v := range r.Variants {
		b1 = append(b1, v.Batch1.ImagesPerS)
		best = append(best, v.Best.ImagesPerS)
		cpu = append(cpu, v.BestCPU)
		labels = append(labels, fmt.Sprintf("%s\ncos %.4f", v.Name, v.Agreement.CosineMean))
	}
	w := vg.Points(18)
	bars1, err := plotter.NewBarChart(b1, w)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	bars1.Color = color.RGBA{R: 90, G: 140, B: 200, A: 255}
	bars1.Offset = -w
	barsBest, err := plotter.NewBarChart(best, w)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	barsBest.Color = color.RGBA{R: 230, G: 140, B: 50, A: 255}
	barsCPU, err := plotter.NewBarChart(cpu, w)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	barsCPU.Color = color.RGBA{R: 120, G: 180, B: 90, A: 255}
	barsCPU.Offset = w
	p.Add(bars1, barsBest, barsCPU)
	p.Legend.Add("batch 1", bars1)
	p.Legend.Add("best batch", barsBest)
	p.Legend.Add("best, from CPU time (no other load)", barsCPU)
	p.Legend.Top = true
	p.NominalX(labels...)
	// Headroom above the tallest bar keeps the legend off the bars.
	top := 0.0
	for i := range b1 {
		top = max(top, b1[i], best[i], cpu[i])
	}
	p.Y.Min, p.Y.Max = 0, 1.35*top
	if err := p.Save(vg.Length(40+32*len(labels))*vg.Millimeter, 100*vg.Millimeter, path); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

func chartName(r *Report) string {
	if r.Preset != "" {
		return r.Preset
	}
	return r.Bundle
}

package preprocess

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// bicubicResample is PIL's Image.BICUBIC, the "resample" value of CLIP.
const bicubicResample = 3

// processorConfig is the part of a Hugging Face preprocessor_config.json
// (CLIPImageProcessor, or the older CLIPFeatureExtractor) that shapes the
// tensor. Pointers tell absent fields from zero ones.
type processorConfig struct {
	Size          json.RawMessage `json:"size"`
	CropSize      json.RawMessage `json:"crop_size"`
	DoResize      *bool           `json:"do_resize"`
	DoCenterCrop  *bool           `json:"do_center_crop"`
	DoRescale     *bool           `json:"do_rescale"`
	RescaleFactor *float64        `json:"rescale_factor"`
	DoNormalize   *bool           `json:"do_normalize"`
	ImageMean     []float64       `json:"image_mean"`
	ImageStd      []float64       `json:"image_std"`
	Resample      *int            `json:"resample"`
}

// ParseProcessorConfig reads a Hugging Face preprocessor_config.json. Absent
// fields take CLIPImageProcessor's defaults, which are OpenAI CLIP's 224 px
// transform. Only bicubic resampling (resample 3) is accepted, as the models
// were trained on it.
func ParseProcessorConfig(data []byte) (Params, error) {
	var c processorConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return Params{}, fmt.Errorf("preprocessor config: %w", err)
	}
	p := DefaultParams()
	fail := func(field, format string, args ...any) (Params, error) {
		return Params{}, fmt.Errorf("preprocessor config: field %q: %s", field, fmt.Sprintf(format, args...))
	}

	if c.DoResize != nil && !*c.DoResize {
		return fail("do_resize", "false is not supported: images must be resized to the model's input")
	}
	if c.Resample != nil && *c.Resample != bicubicResample {
		return fail("resample", "%d is not supported, only %d (bicubic)", *c.Resample, bicubicResample)
	}
	if c.Size != nil {
		shortest, h, w, err := parseSize(c.Size, true)
		if err != nil {
			return fail("size", "%v", err)
		}
		p.ShortestEdge, p.ResizeHeight, p.ResizeWidth = shortest, h, w
	}
	if c.DoCenterCrop != nil && !*c.DoCenterCrop {
		if p.ShortestEdge != 0 {
			return fail("do_center_crop", "false needs a \"size\" with \"height\" and \"width\": a shortest edge alone gives no fixed input size")
		}
		p.CropHeight, p.CropWidth = p.ResizeHeight, p.ResizeWidth
	} else if c.CropSize != nil {
		_, h, w, err := parseSize(c.CropSize, false)
		if err != nil {
			return fail("crop_size", "%v", err)
		}
		p.CropHeight, p.CropWidth = h, w
	}

	if c.DoRescale != nil && !*c.DoRescale {
		return fail("do_rescale", "false is not supported: CLIP takes pixels scaled to [0, 1]")
	}
	if c.RescaleFactor != nil && math.Abs(*c.RescaleFactor-1.0/255) > 1e-9 {
		return fail("rescale_factor", "%v is not supported, only 1/255", *c.RescaleFactor)
	}
	if c.DoNormalize != nil && !*c.DoNormalize {
		p.Mean, p.Std = [3]float32{0, 0, 0}, [3]float32{1, 1, 1}
	} else {
		for _, f := range []struct {
			name string
			in   []float64
			out  *[3]float32
		}{{"image_mean", c.ImageMean, &p.Mean}, {"image_std", c.ImageStd, &p.Std}} {
			if f.in == nil {
				continue
			}
			if len(f.in) != 3 {
				return fail(f.name, "want 3 values (R, G, B), got %d", len(f.in))
			}
			for i, v := range f.in {
				f.out[i] = float32(v)
			}
		}
	}
	if err := p.Validate(); err != nil {
		return Params{}, fmt.Errorf("preprocessor config: %w", err)
	}
	return p, nil
}

// parseSize reads a size given as an integer or as an object with
// "shortest_edge" (only where allowed) or "height" and "width". An integer
// is a shortest edge for "size" and a square for "crop_size".
func parseSize(raw json.RawMessage, shortestAllowed bool) (shortest, h, w int, err error) {
	want := `an integer or {"height": h, "width": w}`
	if shortestAllowed {
		want = `an integer, {"shortest_edge": n} or {"height": h, "width": w}`
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		if n <= 0 {
			return 0, 0, 0, fmt.Errorf("%d is not positive", n)
		}
		if shortestAllowed {
			return n, 0, 0, nil
		}
		return 0, n, n, nil
	}
	var obj map[string]int
	if err := json.Unmarshal(raw, &obj); err != nil {
		return 0, 0, 0, fmt.Errorf("want %s, got %s", want, raw)
	}
	_, hasShortest := obj["shortest_edge"]
	_, hasH := obj["height"]
	_, hasW := obj["width"]
	for key := range obj {
		switch key {
		case "shortest_edge", "height", "width":
		default:
			return 0, 0, 0, fmt.Errorf("key %q is not supported; want %s", key, want)
		}
	}
	switch {
	case hasShortest && shortestAllowed && !hasH && !hasW:
		shortest = obj["shortest_edge"]
	case hasH && hasW && !hasShortest:
		h, w = obj["height"], obj["width"]
	default:
		return 0, 0, 0, fmt.Errorf("want %s, got %s", want, raw)
	}
	if shortest < 0 || h < 0 || w < 0 || shortest+h+w == 0 || (shortest == 0 && (h == 0 || w == 0)) {
		return 0, 0, 0, fmt.Errorf("sizes must be positive, got %s", raw)
	}
	return shortest, h, w, nil
}

// JSON writes p as a CLIPImageProcessor preprocessor_config.json, for model
// bundles; ParseProcessorConfig reads it back to p.
func (p Params) JSON() []byte {
	size := fmt.Sprintf(`{"shortest_edge": %d}`, p.ShortestEdge)
	if p.ShortestEdge == 0 {
		size = fmt.Sprintf(`{"height": %d, "width": %d}`, p.ResizeHeight, p.ResizeWidth)
	}
	floats := func(v [3]float32) string {
		// The shortest decimals that read back as the same float32.
		var b bytes.Buffer
		for i, f := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatFloat(float64(f), 'g', -1, 32))
		}
		return "[" + b.String() + "]"
	}
	return fmt.Appendf(nil, `{
  "crop_size": {"height": %d, "width": %d},
  "do_center_crop": true,
  "do_convert_rgb": true,
  "do_normalize": true,
  "do_rescale": true,
  "do_resize": true,
  "image_mean": %s,
  "image_processor_type": "CLIPImageProcessor",
  "image_std": %s,
  "resample": %d,
  "rescale_factor": 0.00392156862745098,
  "size": %s
}
`, p.CropHeight, p.CropWidth, floats(p.Mean), floats(p.Std), bicubicResample, size)
}

package preprocess

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseProcessorConfig(t *testing.T) {
	vitL336 := Params{ShortestEdge: 336, CropHeight: 336, CropWidth: 336, Mean: openAIMean, Std: openAIStd}
	tests := []struct {
		name string
		json string
		want Params
	}{
		{"openai/clip-vit-base-patch32 (feature extractor era)", `{
			"crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
			"feature_extractor_type": "CLIPFeatureExtractor",
			"image_mean": [0.48145466, 0.4578275, 0.40821073],
			"image_std": [0.26862954, 0.26130258, 0.27577711],
			"resample": 3, "size": 224}`, DefaultParams()},
		{"image processor era, 336 px", `{
			"crop_size": {"height": 336, "width": 336}, "do_center_crop": true, "do_convert_rgb": true,
			"do_normalize": true, "do_rescale": true, "do_resize": true,
			"image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "CLIPImageProcessor",
			"image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
			"rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 336}}`, vitL336},
		{"defaults", `{}`, DefaultParams()},
		{"fixed size without crop", `{"size": {"height": 256, "width": 192}, "do_center_crop": false}`,
			Params{ResizeHeight: 256, ResizeWidth: 192, CropHeight: 256, CropWidth: 192, Mean: openAIMean, Std: openAIStd}},
		{"no normalisation", `{"do_normalize": false, "crop_size": {"height": 200, "width": 100}}`,
			Params{ShortestEdge: 224, CropHeight: 200, CropWidth: 100, Std: [3]float32{1, 1, 1}}},
		{"other mean and std", `{"image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.5, 1]}`,
			Params{ShortestEdge: 224, CropHeight: 224, CropWidth: 224, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.5, 1}}},
	}
	for _, tt := range tests {
		got, err := ParseProcessorConfig([]byte(tt.json))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestParseProcessorConfigErrors(t *testing.T) {
	tests := []struct{ json, want string }{
		{`{"resample": 2}`, `field "resample": 2 is not supported, only 3 (bicubic)`},
		{`{"size": "big"}`, `field "size": want an integer, {"shortest_edge": n} or {"height": h, "width": w}`},
		{`{"size": {"shortest_edge": 224, "longest_edge": 500}}`, `field "size": key "longest_edge" is not supported`},
		{`{"size": {"height": 224}}`, `field "size"`},
		{`{"size": -3}`, `field "size": -3 is not positive`},
		{`{"crop_size": {"shortest_edge": 224}}`, `field "crop_size": want an integer or {"height": h, "width": w}`},
		{`{"image_mean": [0.5, 0.5]}`, `field "image_mean": want 3 values (R, G, B), got 2`},
		{`{"image_std": [0.5, 0, 0.5]}`, `std[1] = 0`},
		{`{"do_resize": false}`, `field "do_resize"`},
		{`{"do_center_crop": false}`, `field "do_center_crop": false needs a "size" with "height" and "width"`},
		{`{"rescale_factor": 1}`, `field "rescale_factor": 1 is not supported`},
		{`{"do_rescale": false}`, `field "do_rescale"`},
		{`{"size": 224,}`, `preprocessor config: invalid character`},
	}
	for _, tt := range tests {
		_, err := ParseProcessorConfig([]byte(tt.json))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.json, err, tt.want)
		}
	}
}

// JSON writes a file that reads back to the same parameters.
func TestParamsJSONRoundTrip(t *testing.T) {
	for _, p := range []Params{
		DefaultParams(),
		{ShortestEdge: 336, CropHeight: 336, CropWidth: 300, Mean: [3]float32{0.1, 0.2, 0.3}, Std: [3]float32{0.7, 0.8, 0.9}},
		{ResizeHeight: 256, ResizeWidth: 192, CropHeight: 224, CropWidth: 160, Mean: openAIMean, Std: openAIStd},
	} {
		got, err := ParseProcessorConfig(p.JSON())
		if err != nil {
			t.Fatalf("%s: %v", p.JSON(), err)
		}
		if got != p {
			t.Errorf("round trip of %+v gave %+v", p, got)
		}
	}
	if !json.Valid(DefaultParams().JSON()) {
		t.Errorf("not valid JSON:\n%s", DefaultParams().JSON())
	}
}

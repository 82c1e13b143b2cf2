package preprocess

import (
	"errors"
	"fmt"
	"math"
)

// Params describes the transform: how the image is resized, the centre crop
// that becomes the model input, and the per-channel normalisation.
type Params struct {
	// ShortestEdge, when set, resizes the shorter side to this length and the
	// longer one to int(ShortestEdge*long/short), keeping the aspect ratio
	// (OpenAI CLIP).
	ShortestEdge int
	// ResizeHeight and ResizeWidth, used when ShortestEdge is 0, resize to
	// exactly this size (a preprocessor_config.json "size" with "height" and
	// "width").
	ResizeHeight, ResizeWidth int
	// CropHeight and CropWidth are the centre crop: the model's input size.
	CropHeight, CropWidth int
	// Mean and Std normalise each RGB channel after scaling to [0, 1].
	Mean, Std [3]float32
}

// OpenAI CLIP's normalisation constants.
var (
	openAIMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	openAIStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

// DefaultParams is OpenAI CLIP's 224 px transform.
func DefaultParams() Params {
	return Params{ShortestEdge: 224, CropHeight: 224, CropWidth: 224, Mean: openAIMean, Std: openAIStd}
}

// TensorLen is the number of float32 values of one CHW image tensor.
func (p Params) TensorLen() int { return 3 * p.CropHeight * p.CropWidth }

// Validate reports parameters that cannot describe a transform.
func (p Params) Validate() error {
	switch {
	case p.ShortestEdge < 0:
		return fmt.Errorf("shortest edge %d is negative", p.ShortestEdge)
	case p.ShortestEdge == 0 && (p.ResizeHeight <= 0 || p.ResizeWidth <= 0):
		return errors.New("no resize: set a shortest edge, or a resize height and width")
	case p.ShortestEdge > 0 && (p.ResizeHeight != 0 || p.ResizeWidth != 0):
		return errors.New("both a shortest edge and a fixed resize size are set")
	case p.CropHeight <= 0 || p.CropWidth <= 0:
		return fmt.Errorf("crop size %dx%d is not positive", p.CropWidth, p.CropHeight)
	}
	for c, s := range p.Std {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("std[%d] = %v: must be positive and finite", c, s)
		}
		if m := float64(p.Mean[c]); math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("mean[%d] = %v: must be finite", c, p.Mean[c])
		}
	}
	return nil
}

// resizedSize is the size the image is resized to before the crop, by
// torchvision's rule for an int size: the shorter side becomes ShortestEdge
// and the longer int(ShortestEdge*long/short), truncating the float quotient.
// An image whose shorter side already has that length is left as it is.
func (p Params) resizedSize(w, h int) (rw, rh int) {
	if p.ShortestEdge == 0 {
		return p.ResizeWidth, p.ResizeHeight
	}
	short, long := w, h
	if h < w {
		short, long = h, w
	}
	if short == p.ShortestEdge {
		return w, h
	}
	newLong := int(float64(p.ShortestEdge*long) / float64(short))
	if w <= h {
		return p.ShortestEdge, newLong
	}
	return newLong, p.ShortestEdge
}

// cropOffset is where a centred crop of length crop starts in a side of
// length size. torchvision computes int(round((size-crop)/2)), and Python
// rounds halves to even. A crop longer than the side is taken from the image
// padded with zeros, (crop-size)//2 on the leading edge, so the offset is
// negative.
func cropOffset(size, crop int) int {
	if crop > size {
		return -((crop - size) / 2)
	}
	return int(math.RoundToEven(float64(size-crop) / 2))
}

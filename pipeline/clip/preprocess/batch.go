package preprocess

import "fmt"

// Batch is a reusable [N, 3, H, W] float32 buffer: the vision tower's
// pixel_values for up to Cap images. Fill slots with Preprocessor.Image or
// BGR, set the length, and hand Data to the model.
type Batch struct {
	data     []float32
	n        int
	perImage int
	height   int
	width    int
	capacity int
}

// NewBatch makes a batch of capacity images of the crop size of p.
func NewBatch(capacity int, p Params) *Batch {
	if capacity <= 0 {
		panic(fmt.Sprintf("preprocess: batch capacity %d is not positive", capacity))
	}
	per := p.TensorLen()
	return &Batch{data: make([]float32, capacity*per), perImage: per, height: p.CropHeight, width: p.CropWidth, capacity: capacity}
}

// Slot is the tensor of image i, for i below Cap.
func (b *Batch) Slot(i int) []float32 {
	if i < 0 || i >= b.capacity {
		panic(fmt.Sprintf("preprocess: batch slot %d out of range [0, %d)", i, b.capacity))
	}
	return b.data[i*b.perImage : (i+1)*b.perImage : (i+1)*b.perImage]
}

// Data is the tensors of the first Len images, back to back.
func (b *Batch) Data() []float32 { return b.data[:b.n*b.perImage] }

// Shape is the shape of Data: Len, 3, height, width.
func (b *Batch) Shape() [4]int64 {
	return [4]int64{int64(b.n), 3, int64(b.height), int64(b.width)}
}

// Len is the number of images in the batch.
func (b *Batch) Len() int { return b.n }

// Cap is the number of images the batch can hold.
func (b *Batch) Cap() int { return b.capacity }

// SetLen sets the number of images in the batch, at most Cap.
func (b *Batch) SetLen(n int) {
	if n < 0 || n > b.capacity {
		panic(fmt.Sprintf("preprocess: batch length %d out of range [0, %d]", n, b.capacity))
	}
	b.n = n
}

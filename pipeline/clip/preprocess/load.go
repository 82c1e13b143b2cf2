package preprocess

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
)

// imageFormats are the formats LoadImageFile reads, by their leading bytes.
var imageFormats = []struct {
	name   string
	magic  []byte
	decode func(r *bufio.Reader) (image.Image, error)
}{
	{"PNG", []byte("\x89PNG\r\n\x1a\n"), decodePNG},
	{"JPEG", []byte("\xff\xd8"), func(r *bufio.Reader) (image.Image, error) { return jpeg.Decode(r) }},
	{"GIF", []byte("GIF8"), func(r *bufio.Reader) (image.Image, error) { return gif.Decode(r) }},
}

// LoadImageFile decodes a PNG, JPEG or GIF file (the first frame of a GIF).
func LoadImageFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load image: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	head, err := r.Peek(8)
	if err != nil && len(head) == 0 {
		return nil, fmt.Errorf("load image %q: read: %w", path, err)
	}
	for _, format := range imageFormats {
		if bytes.HasPrefix(head, format.magic) {
			img, err := format.decode(r)
			if err != nil {
				return nil, fmt.Errorf("load image %q: decode %s: %w", path, format.name, err)
			}
			return img, nil
		}
	}
	return nil, fmt.Errorf("load image %q: not a PNG, JPEG or GIF file (starts with % x)", path, head)
}

// decodePNG decodes a PNG, keeping a 1-bit greyscale image as two-colour
// palette image: Pillow opens those as mode "1" and resizes them with
// nearest-neighbour, like palette images, where image/png gives image.Gray.
func decodePNG(r *bufio.Reader) (image.Image, error) {
	// IHDR is the first chunk: 8 bytes of signature, 8 of chunk header, then
	// width, height, bit depth and colour type.
	header, _ := r.Peek(26)
	oneBitGray := len(header) == 26 && header[24] == 1 && header[25] == 0
	img, err := png.Decode(r)
	if err != nil || !oneBitGray {
		return img, err
	}
	gray, ok := img.(*image.Gray)
	if !ok {
		return img, nil
	}
	bits := &image.Paletted{Pix: gray.Pix, Stride: gray.Stride, Rect: gray.Rect, Palette: color.Palette{color.Gray{0}, color.Gray{255}}}
	for i, v := range bits.Pix {
		bits.Pix[i] = v >> 7
	}
	return bits, nil
}

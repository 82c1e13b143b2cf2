package preprocess

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
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
	{"PNG", []byte("\x89PNG\r\n\x1a\n"), func(r *bufio.Reader) (image.Image, error) { return png.Decode(r) }},
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

package cvmat

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"os"

	"gocv.io/x/gocv"

	"github.com/linesight/linesight/pipeline/clip/preprocess"
)

// jpegMagic is the start of every JPEG file: an SOI marker.
var jpegMagic = []byte{0xff, 0xd8}

// LoadImageFile decodes an image file as Pillow's Image.open would see it.
// JPEG files with one (grey) or three (colour) components are decoded by
// OpenCV, through libjpeg-turbo with its default settings (the accurate
// integer IDCT and fancy chroma upsampling), which is what Pillow does; the
// EXIF orientation is not applied, as Image.open does not apply it either.
// Colour comes back as an opaque *image.RGBA, grey as *image.Gray.
//
// Every other file, and JPEG files with another number of components (CMYK
// and YCCK, which OpenCV converts to RGB on its own terms), goes to
// preprocess.LoadImageFile.
func LoadImageFile(path string) (image.Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load image: %w", err)
	}
	if !bytes.HasPrefix(data, jpegMagic) {
		return preprocess.LoadImageFile(path)
	}
	components, err := jpegComponents(data)
	if err != nil {
		return nil, fmt.Errorf("load image %q: JPEG: %w", path, err)
	}
	if components != 1 && components != 3 {
		return preprocess.LoadImageFile(path)
	}
	img, err := decodeJPEG(data)
	if err != nil {
		return nil, fmt.Errorf("load image %q: decode JPEG with OpenCV: %w", path, err)
	}
	return img, nil
}

// decodeJPEG decodes a one- or three-component JPEG with OpenCV.
func decodeJPEG(data []byte) (image.Image, error) {
	// IMReadUnchanged keeps grey as one channel, colour as BGR, and (like
	// IMReadIgnoreOrientation) leaves the EXIF orientation alone.
	m, err := gocv.IMDecode(data, gocv.IMReadUnchanged)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if m.Empty() {
		return nil, errors.New("OpenCV could not decode the data (corrupt or unsupported JPEG)")
	}
	rows, cols := m.Rows(), m.Cols()
	pix, err := m.DataPtrUint8()
	if err != nil {
		return nil, err
	}
	switch m.Type() {
	case gocv.MatTypeCV8UC1:
		gray := image.NewGray(image.Rect(0, 0, cols, rows))
		for y := range rows {
			copy(gray.Pix[y*gray.Stride:y*gray.Stride+cols], pix[y*m.Step():])
		}
		return gray, nil
	case gocv.MatTypeCV8UC3:
		rgba := image.NewRGBA(image.Rect(0, 0, cols, rows))
		for y := range rows {
			bgr := pix[y*m.Step() : y*m.Step()+3*cols]
			out := rgba.Pix[y*rgba.Stride : y*rgba.Stride+4*cols]
			for x := range cols {
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = bgr[3*x+2], bgr[3*x+1], bgr[3*x], 255
			}
		}
		return rgba, nil
	default:
		return nil, fmt.Errorf("OpenCV decoded a Mat of type %v; want CV8UC1 or CV8UC3", m.Type())
	}
}

// jpegComponents reads the number of colour components from the frame
// header (SOFn) of a JPEG file. It also walks the rest of the file up to the
// end-of-image marker, because libjpeg pads a truncated file with grey and
// OpenCV returns that image with only a warning, where Pillow and image/jpeg
// report the file as truncated.
func jpegComponents(data []byte) (int, error) {
	components := 0
	i := 2 // past SOI
	for {
		// Markers may be preceded by any number of 0xff fill bytes.
		for i+1 < len(data) && data[i] == 0xff && data[i+1] == 0xff {
			i++
		}
		if i+2 > len(data) {
			return 0, errors.New("file is truncated (no end-of-image marker)")
		}
		if data[i] != 0xff {
			return 0, fmt.Errorf("expected a marker at byte %d, found %#02x", i, data[i])
		}
		marker := data[i+1]
		if marker == 0xd9 { // EOI
			if components == 0 {
				return 0, errors.New("no frame header before the end of the image")
			}
			return components, nil
		}
		if marker >= 0xd0 && marker <= 0xd7 || marker == 0x01 {
			i += 2 // markers without a segment
			continue
		}
		if i+4 > len(data) {
			return 0, errors.New("file is truncated (in a marker segment)")
		}
		length := int(data[i+2])<<8 | int(data[i+3])
		if length < 2 || i+2+length > len(data) {
			return 0, fmt.Errorf("file is truncated or corrupt (marker %#02x at byte %d with length %d)", marker, i, length)
		}
		if isFrameHeader(marker) && components == 0 {
			// Length, precision, height, width, then the component count.
			if length < 8 {
				return 0, errors.New("frame header is too short")
			}
			components = int(data[i+9])
		}
		i += 2 + length
		if marker == 0xda { // SOS: entropy-coded data follows
			i = skipScan(data, i)
		}
	}
}

// skipScan returns the index of the first marker after the entropy-coded
// data starting at i, or len(data) if there is none. Within the data a 0xff
// byte is followed by a stuffed 0x00, or by a restart marker.
func skipScan(data []byte, i int) int {
	for ; i+1 < len(data); i++ {
		if data[i] != 0xff {
			continue
		}
		next := data[i+1]
		if next != 0x00 && next != 0xff && (next < 0xd0 || next > 0xd7) {
			return i
		}
	}
	return len(data)
}

// isFrameHeader reports whether marker is one of the SOFn markers: 0xc0 to
// 0xcf except DHT (0xc4), JPG (0xc8) and DAC (0xcc).
func isFrameHeader(marker byte) bool {
	return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc
}

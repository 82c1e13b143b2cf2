package preprocess

// layout says how the rows handed to the resampler hold their pixels.
type layout struct {
	pixelBytes int       // bytes per pixel in a source row
	channels   int       // leading bytes of each pixel that are resampled: 1, 3 or 4
	order      pixelKind // how the resampled channels become RGB
}

type pixelKind int

const (
	kindGray          pixelKind = iota // one channel, "L"
	kindRGB                            // R, G, B
	kindBGR                            // B, G, R: OpenCV frames
	kindPremultiplied                  // R, G, B, A with colour premultiplied by alpha ("RGBa")
)

var (
	layoutGray = layout{pixelBytes: 1, channels: 1, order: kindGray}
	layoutRGB  = layout{pixelBytes: 3, channels: 3, order: kindRGB}
	layoutRGBX = layout{pixelBytes: 4, channels: 3, order: kindRGB}
	layoutBGR  = layout{pixelBytes: 3, channels: 3, order: kindBGR}
	layoutBGRX = layout{pixelBytes: 4, channels: 3, order: kindBGR}
	layoutRGBa = layout{pixelBytes: 4, channels: 4, order: kindPremultiplied}
)

// toRGB turns one resampled pixel into RGB. Premultiplied colour is divided
// by alpha as Pillow's RGBa to RGBA conversion does, with integer division and
// saturation, leaving fully transparent and opaque pixels as they are.
func (k pixelKind) toRGB(px []uint8) (r, g, b uint8) {
	switch k {
	case kindGray:
		return px[0], px[0], px[0]
	case kindBGR:
		return px[2], px[1], px[0]
	case kindPremultiplied:
		a := uint32(px[3])
		if a == 0 || a == 255 {
			return px[0], px[1], px[2]
		}
		return unpremultiply(px[0], a), unpremultiply(px[1], a), unpremultiply(px[2], a)
	default:
		return px[0], px[1], px[2]
	}
}

func unpremultiply(c uint8, a uint32) uint8 {
	return uint8(min(255*uint32(c)/a, 255))
}

// premultiply is Pillow's RGBA to RGBa conversion of one channel: c*a/255
// rounded to nearest.
func premultiply(c, a uint8) uint8 {
	t := uint32(c)*uint32(a) + 128
	return uint8((t + t>>8) >> 8)
}

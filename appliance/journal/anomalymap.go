package journal

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/frame"
	"github.com/linesight/linesight/pipeline/frame/jpegcv"
)

// encodeAnomalyMap is a verdict's anomaly_map as the journal keeps it: the
// window and box in the pixels of the stored image, which is the inspected
// frame scaled down to at most maxSide.
func encodeAnomalyMap(a *defects.Anomaly, f *frame.Frame, maxSide int) ([]byte, error) {
	m := a.MapView()
	if m == nil {
		return nil, nil
	}
	if f != nil {
		w, h := jpegcv.ScaledSize(f.Width, f.Height, maxSide)
		m.Window = scaleRegion(m.Window, w, h, f.Width, f.Height)
		if m.Box != nil {
			b := scaleRegion(*m.Box, w, h, f.Width, f.Height)
			m.Box = &b
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode anomaly map: %w", err)
	}
	return b, nil
}

// scaleRegion maps a box of a fw x fh image to the same box of it scaled to
// w x h, outward to whole pixels.
func scaleRegion(r defects.Region, w, h, fw, fh int) defects.Region {
	if w == fw && h == fh {
		return r
	}
	x0, y0 := r.X*w/fw, r.Y*h/fh
	x1, y1 := ceilDiv((r.X+r.W)*w, fw), ceilDiv((r.Y+r.H)*h, fh)
	return defects.Region{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return a / b
	}
	return (a + b - 1) / b
}

// attachAnomalyMap reads a record's anomaly_map, when it has one.
func attachAnomalyMap(tx *bolt.Tx, r *Record) error {
	raw := tx.Bucket(bucketAnomalyMaps).Get(u64(r.ID))
	if raw == nil {
		return nil
	}
	var m defects.AnomalyMap
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("anomaly map: %w", err)
	}
	r.AnomalyMap = &m
	return nil
}

package inspect

import (
	"context"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/pipeline/clip/preprocess"
	"github.com/linesight/linesight/pipeline/frame"
)

// Embedder encodes a batch of preprocessed images ([n,3,H,W]) into [n,dim]
// embeddings. The returned slice may be reused by the next call.
type Embedder interface {
	Embed(pixels []float32, n int) ([]float32, error)
}

// Preprocessor writes the CLIP input tensor of an 8-bit BGR image into dst.
type Preprocessor interface {
	BGR(pix []byte, width, height, stride int, dst []float32) error
}

// Scorers maps each camera (and each region, RegionKey) to the scorer of
// its defect classes. The loop reads
// it once per batch, so replacing it (hot reload) takes effect between frames.
type Scorers map[string]*defects.Scorer

// Result is what a sink receives: the verdict and, except for MISSED
// verdicts, the inspected frame. The frame is valid until Write returns.
type Result struct {
	Verdict defects.Verdict
	Frame   *frame.Frame
}

// Sink receives every verdict in order. Write is called from one goroutine
// per sink.
type Sink interface {
	Name() string
	Write(ctx context.Context, r *Result) error
}

// Mode is how a camera chooses the frames it inspects.
type Mode string

const (
	// FreeRun inspects every frame (or at most Rate per second); when
	// inference falls behind the oldest waiting frames are dropped.
	FreeRun Mode = "freerun"
	// Triggered inspects one frame per trigger: the first captured at or
	// after the trigger's time. A trigger never vanishes: if it cannot be
	// served it becomes a MISSED verdict.
	Triggered Mode = "triggered"
)

// CameraOptions configure one camera's intake.
type CameraOptions struct {
	ID   string
	Mode Mode
	// Rate caps free-run inspections per second; 0 inspects every frame.
	Rate float64
	// Queue is how many frames may wait for inference.
	Queue int
	// TriggerTimeout turns a trigger with no frame into a MISSED verdict.
	TriggerTimeout time.Duration
	// TriggerWindow is how far from a trigger's PLC time (TriggerAt) the
	// frame judged for it may have been captured; DefaultTriggerWindow
	// when 0.
	TriggerWindow time.Duration
	// MissedAction is what the line should do with a MISSED part.
	MissedAction defects.Action
	// Regions, when set, are judged instead of the whole frame, each with
	// the scorer under RegionKey(ID, name); the verdict is the worst
	// region's (docs/pipeline.md).
	Regions []RegionOptions
}

// RegionOptions name a part of a camera's frame judged on its own.
type RegionOptions struct {
	Name string
	Box  defects.Region // in the camera's frame, pixels
}

// RegionKey is the Scorers key of a camera's region.
func RegionKey(camera, region string) string { return camera + "/" + region }

// SinkOptions configure how verdicts reach one sink.
type SinkOptions struct {
	Queue int
	// Lossless sinks (the journal) make the loop wait when their queue is
	// full; the others (a live feed) drop the verdict and count it.
	Lossless bool
}

// Options configure the loop.
type Options struct {
	BatchSize int
	BatchWait time.Duration
	// ImageSize is the model's input height and width.
	ImageSize int
	Cameras   []CameraOptions
	// Parts are the part stages: cameras whose verdicts for one part id
	// are fused into one part verdict.
	Parts []PartOptions
	// Window is the part of a width x height frame the model's input
	// covers (preprocess.Params.SourceWindow), for placing anomaly regions
	// in the frame; nil: the whole frame.
	Window func(width, height int) preprocess.Window
}

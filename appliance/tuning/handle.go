package tuning

import (
	"errors"
	"sync"

	"github.com/linesight/linesight/pipeline/inspect"
)

// Encoder is a vision encoder the loop can use (engine.Vision is one).
type Encoder interface {
	Embed(pixels []float32, n int) ([]float32, error)
	Close()
}

// Handle wraps an encoder so it can be retired safely while the loop runs.
// The loop reads its embedder once per batch, so after Loop.SetEmbedder a
// batch that picked the old handle just before the swap may still call it:
// a retired handle forwards that call to its successor instead of failing,
// so no frame (and no trigger) is lost to a swap.
type Handle struct {
	mu   sync.RWMutex // Embed holds it shared; Retire exclusively
	enc  Encoder
	next *Handle
}

// NewHandle wraps enc.
func NewHandle(enc Encoder) *Handle { return &Handle{enc: enc} }

// Embed runs the encoder, or its successor's once retired.
func (h *Handle) Embed(pixels []float32, n int) ([]float32, error) {
	h.mu.RLock()
	if h.next != nil {
		next := h.next
		h.mu.RUnlock()
		return next.Embed(pixels, n)
	}
	defer h.mu.RUnlock()
	if h.enc == nil {
		return nil, errors.New("vision encoder closed")
	}
	return h.enc.Embed(pixels, n)
}

// Retire waits for calls in progress, closes the encoder and sends later
// calls to next. Call it after the loop has been given next.
func (h *Handle) Retire(next *Handle) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next = next
	if h.enc != nil {
		h.enc.Close()
		h.enc = nil
	}
}

// Close closes the encoder without a successor (at shutdown).
func (h *Handle) Close() { h.Retire(nil) }

// PatchEncoder is an Encoder that can also give the patch outputs of the
// run that embeds the images (the anomaly maps' input).
type PatchEncoder interface {
	Encoder
	EmbedPatches(pixels []float32, n int) ([]float32, inspect.Patches, error)
}

// EmbedPatches runs the encoder (or its successor's once retired) with its
// patch outputs; an encoder without them gives the embeddings and no
// patches, which the loop reports as anomaly maps it cannot make.
func (h *Handle) EmbedPatches(pixels []float32, n int) ([]float32, inspect.Patches, error) {
	h.mu.RLock()
	if h.next != nil {
		next := h.next
		h.mu.RUnlock()
		return next.EmbedPatches(pixels, n)
	}
	defer h.mu.RUnlock()
	if h.enc == nil {
		return nil, inspect.Patches{}, errors.New("vision encoder closed")
	}
	if pe, ok := h.enc.(PatchEncoder); ok {
		return pe.EmbedPatches(pixels, n)
	}
	emb, err := h.enc.Embed(pixels, n)
	return emb, inspect.Patches{}, err
}

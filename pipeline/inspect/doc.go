// Package inspect is the inspection loop between the cameras and the sinks:
//
//	camera -> Submit -> per-camera queue (free-run: drop oldest; triggered:
//	trigger/frame matching, overflow is a MISSED verdict)
//	-> batcher (up to N frames or T ms, across cameras, preprocessed straight
//	into one of two batch buffers) -> vision encoder -> scorer -> verdict
//	-> every sink, each through its own bounded queue.
//
// Each stage is one goroutine owned by Run; cancelling Run's context stops
// intake, finishes the frames already accepted, drains the sinks and returns.
package inspect

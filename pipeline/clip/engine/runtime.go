// Package engine runs CLIP model bundles in ONNX Runtime: it loads the shared
// library, picks an execution provider, discovers each model's inputs and
// outputs, and turns preprocessed pixels and token ids into embeddings.
package engine

import (
	"errors"
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/linesight/linesight/internal/ortlib"
)

// DefaultLibraryPath is where `make setup` installs the ONNX Runtime library.
const DefaultLibraryPath = ortlib.DefaultPath

// LibraryEnv names the environment variable that overrides the library path.
const LibraryEnv = ortlib.Env

// ResolveLibraryPath picks the library: an explicit path (flag or config) wins,
// then $LINESIGHT_ORT_LIB, then DefaultLibraryPath.
func ResolveLibraryPath(explicit string) string { return ortlib.Resolve(explicit) }

var (
	initOnce sync.Once
	initPath string
	initErr  error
)

// Init loads the ONNX Runtime library once per process. Later calls return the
// first outcome; asking for a different library after that is an error, since
// one process can hold only one.
func Init(libraryPath string) error {
	path := ResolveLibraryPath(libraryPath)
	initOnce.Do(func() {
		initPath = path
		if initErr = ortlib.Check(path); initErr != nil {
			return
		}
		ort.SetSharedLibraryPath(path)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			initErr = fmt.Errorf("load ONNX Runtime from %s: %w", path, err)
		}
	})
	if initErr == nil && path != initPath {
		return fmt.Errorf("ONNX Runtime already loaded from %s; cannot also load %s", initPath, path)
	}
	return initErr
}

// Version reports the loaded ONNX Runtime version.
func Version() string {
	if !ort.IsInitialized() {
		return ""
	}
	return ort.GetVersion()
}

var errNotInitialized = errors.New("ONNX Runtime is not loaded: call engine.Init first")

func ortReady() bool { return ort.IsInitialized() }

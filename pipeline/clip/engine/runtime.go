// Package engine runs CLIP model bundles in ONNX Runtime: it loads the shared
// library, picks an execution provider, discovers each model's inputs and
// outputs, and turns preprocessed pixels and token ids into embeddings.
package engine

import (
	"errors"
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// DefaultLibraryPath is where `make setup` installs the ONNX Runtime library.
const DefaultLibraryPath = "/usr/local/lib/linesight/libonnxruntime.so.1"

// LibraryEnv names the environment variable that overrides the library path.
const LibraryEnv = "LINESIGHT_ORT_LIB"

// ResolveLibraryPath picks the library: an explicit path (flag or config) wins,
// then $LINESIGHT_ORT_LIB, then DefaultLibraryPath.
func ResolveLibraryPath(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if p := os.Getenv(LibraryEnv); p != "" {
		return p
	}
	return DefaultLibraryPath
}

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
		if initErr = checkLibrary(path); initErr != nil {
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

// checkLibrary explains how to install the library when it is missing.
func checkLibrary(path string) error {
	st, err := os.Stat(path)
	if err == nil && !st.IsDir() {
		return nil
	}
	return fmt.Errorf("ONNX Runtime library not found at %s: run `make setup` "+
		"(it installs libonnxruntime.so.1 from the npm package onnxruntime-node@1.30.0 into %s), "+
		"or point --ort-lib, $%s or model.ort_library in the config at an existing copy",
		path, DefaultLibraryPath, LibraryEnv)
}

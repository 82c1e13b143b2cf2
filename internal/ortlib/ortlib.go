// Package ortlib says where the ONNX Runtime shared library is: the engine
// loads it from there, and the tests check for it there.
package ortlib

import (
	"fmt"
	"os"
)

// DefaultPath is where `make setup` installs the ONNX Runtime library.
const DefaultPath = "/usr/local/lib/linesight/libonnxruntime.so.1"

// Env names the environment variable that overrides the library path.
const Env = "LINESIGHT_ORT_LIB"

// Resolve picks the library: an explicit path (flag or config) wins, then
// $LINESIGHT_ORT_LIB, then DefaultPath.
func Resolve(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if p := os.Getenv(Env); p != "" {
		return p
	}
	return DefaultPath
}

// Check explains how to install the library when it is missing at path.
func Check(path string) error {
	st, err := os.Stat(path)
	if err == nil && !st.IsDir() {
		return nil
	}
	return fmt.Errorf("ONNX Runtime library not found at %s: run `make setup` "+
		"(it installs libonnxruntime.so.1 from the npm package onnxruntime-node@1.30.0 into %s), "+
		"or point --ort-lib, $%s or model.ort_library in the config at an existing copy",
		path, DefaultPath, Env)
}

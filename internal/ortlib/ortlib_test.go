package ortlib

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestMissingLibraryExplainsSetup(t *testing.T) {
	err := Check(filepath.Join(t.TempDir(), "libonnxruntime.so.1"))
	if err == nil || !strings.Contains(err.Error(), "make setup") || !strings.Contains(err.Error(), Env) {
		t.Errorf("got %v, want an error telling how to install the library", err)
	}
	if err := Check(t.TempDir()); err == nil {
		t.Error("a directory passed for the library")
	}
	t.Setenv(Env, "")
	if got := Resolve(""); got != DefaultPath {
		t.Errorf("default path: got %s", got)
	}
	t.Setenv(Env, "/opt/ort/lib.so")
	if got := Resolve(""); got != "/opt/ort/lib.so" {
		t.Errorf("env path: got %s", got)
	}
	if got := Resolve("flag.so"); got != "flag.so" {
		t.Errorf("explicit path: got %s", got)
	}
}

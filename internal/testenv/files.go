package testenv

import (
	"io"
	"os"
	"testing"
)

// Close closes c and fails the test if that fails: a close that fails (a
// file not flushed, a journal not synced, a server that did not stop) is a
// fault the test should see, not drop. Use it as `defer testenv.Close(t,
// "the journal", j)` or inside t.Cleanup.
func Close(t testing.TB, what string, c io.Closer) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Errorf("closing %s: %v", what, err)
	}
}

// ReadFile returns the file's contents as text, failing the test if it
// cannot be read.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

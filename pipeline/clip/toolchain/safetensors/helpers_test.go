package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// writeRaw builds a safetensors file byte by byte, independent of Write, so
// the reader can be tested on files this package did not produce (including
// broken ones). headerLen overrides the length field when not negative.
func writeRaw(t *testing.T, dir, name, header string, data []byte, headerLen int64) string {
	t.Helper()
	n := uint64(len(header))
	if headerLen >= 0 {
		n = uint64(headerLen)
	}
	buf := binary.LittleEndian.AppendUint64(nil, n)
	buf = append(buf, header...)
	buf = append(buf, data...)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func le32(values ...uint32) []byte {
	var b []byte
	for _, v := range values {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

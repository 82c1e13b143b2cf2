package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Digest identifies a variant: sha256 over everything that shapes its answers —
// config.json, preprocessor_config.json, the tokenizer files and the variant's
// model files with their external data — each by name, size and content.
// Verdicts and the prompt-embedding cache carry it, so two bundles with the
// same digest give the same answers.
func (b *Bundle) Digest(variant string) (string, error) {
	files, err := b.Files(variant)
	if err != nil {
		return "", err
	}
	paths := []string{filepath.Join(b.Dir, ConfigFile)}
	for _, name := range append([]string{PreprocessorFile}, tokenizerFiles...) {
		if p := filepath.Join(b.Dir, name); fileExists(p) {
			paths = append(paths, p)
		}
	}
	for _, model := range []string{files.Vision, files.Text} {
		paths = append(paths, model)
		paths = append(paths, externalData(model)...)
	}
	h := sha256.New()
	for _, p := range paths {
		if err := hashFile(h, p, b.Dir); err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// hashFile adds "relative-name\x00size\x00sha256(content)\n" to h.
func hashFile(h io.Writer, path, root string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("digest model bundle: %s is missing", path)
	}
	if err != nil {
		return fmt.Errorf("digest model bundle: %w", err)
	}
	defer f.Close()
	inner := sha256.New()
	n, err := io.Copy(inner, f)
	if err != nil {
		return fmt.Errorf("digest model bundle: read %s: %w", path, err)
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		rel = filepath.Base(path)
	}
	fmt.Fprintf(h, "%s\x00%d\x00%x\n", filepath.ToSlash(rel), n, inner.Sum(nil))
	return nil
}

// Short is the first 12 hex digits of a digest, for logs and file names.
func Short(digest string) string {
	const prefix = "sha256:"
	if len(digest) >= len(prefix)+12 {
		return digest[len(prefix) : len(prefix)+12]
	}
	return digest
}

// externalData lists the external-data files present beside a model, under the
// names Optimum (model.onnx_data) and PyTorch (model.onnx.data, model.onnx_data) give them.
func externalData(model string) []string {
	var found []string
	for _, p := range []string{model + "_data", model + ".data"} {
		if fileExists(p) {
			found = append(found, p)
		}
	}
	return found
}

// tokenizerFiles are the tokenizer files a bundle may hold.
var tokenizerFiles = []string{"tokenizer.json", "vocab.json", "merges.txt", "bpe_simple_vocab_16e6.txt.gz"}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

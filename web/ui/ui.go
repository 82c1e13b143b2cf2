// Package ui holds the operator dashboard: a single-page app of plain HTML,
// CSS and ES modules, embedded into the binary.
//
// The app's own files are committed under static/. Third-party browser files
// (Chart.js) are not: `make assets` fetches them with npm and copies them into
// static/vendor/. The committed static/vendor/README.md keeps the embed (and
// so `go build`) working before that step; the dashboard then runs without
// its charts and says so.
package ui

import (
	"embed"
	"io/fs"
)

//go:embed static
var files embed.FS

// FS is the dashboard's file tree: index.html at its root.
var FS fs.FS = mustSub(files, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

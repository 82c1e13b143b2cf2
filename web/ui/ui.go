// Package ui holds the operator dashboard: a single-page app of plain HTML,
// CSS and ES modules, embedded into the binary. The server serves
// static/index.html at / and the whole tree under /ui/ (docs/api.md,
// "Front-end").
//
// The app's own files are committed under static/. Third-party browser files
// (Chart.js) are not: `make assets` fetches them with npm and copies them into
// static/vendor/. The committed static/vendor/README.md keeps the embed (and
// so `go build`) working before that step; the dashboard then runs without
// its charts and says so.
package ui

import "embed"

// FS is the dashboard's file tree; its single top-level directory, static,
// is the root the server serves.
//
//go:embed static
var FS embed.FS

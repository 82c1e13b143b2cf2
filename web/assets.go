package web

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

const placeholder = `<!doctype html>
<html><head><meta charset="utf-8"><title>LineSight</title></head>
<body><h1>LineSight</h1><p>The dashboard is not built into this binary. The API is at
<a href="/api/v1/status">/api/v1/status</a>.</p></body></html>
`

// uiRoot finds the directory of the dashboard's files: the FS root, or its
// single top-level directory (as //go:embed dist gives).
func uiRoot(fsys fs.FS) fs.FS {
	if fsys == nil {
		return nil
	}
	if _, err := fs.Stat(fsys, "index.html"); err == nil {
		return fsys
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err == nil && len(entries) == 1 && entries[0].IsDir() {
		if sub, err := fs.Sub(fsys, entries[0].Name()); err == nil {
			return sub
		}
	}
	return fsys
}

// assets serves index.html at / and the dashboard's files under /ui/.
func (s *Server) assets(e *echo.Echo) {
	root := uiRoot(s.opts.UI)
	e.GET("/", func(c echo.Context) error {
		if root != nil {
			if data, err := fs.ReadFile(root, "index.html"); err == nil {
				c.Response().Header().Set("Cache-Control", "no-cache")
				return c.HTMLBlob(http.StatusOK, data)
			}
		}
		return c.HTML(http.StatusOK, placeholder)
	})
	if root == nil {
		return
	}
	files := http.StripPrefix("/ui/", http.FileServer(http.FS(root)))
	e.GET("/ui/*", func(c echo.Context) error {
		if strings.HasSuffix(c.Request().URL.Path, "/") { // no directory listings
			return echo.NewHTTPError(http.StatusNotFound, "not found")
		}
		c.Response().Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	})
}

// Package yamlconf decodes YAML configuration files strictly and reports
// every problem at once, each with the file, the line and the path of the
// offending value (`cameras[1].source.url`) and what would have been accepted.
//
// Decoding walks yaml.v3's node tree against the destination's `yaml` struct
// tags, so unknown keys, wrong types and out-of-range numbers are found in one
// pass instead of stopping at the first. Validation code then reports value
// errors through the same Doc, which knows the line of every path it decoded.
package yamlconf

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a configuration file.
type Error struct {
	File string
	Line int // 1-based; 0 when unknown
	Path string
	Msg  string
}

func (e Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:", e.Line)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a file, in the order of their lines.
type Errors []Error

// Error joins the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns es as an error, or nil when there is none. Returning Errors
// directly as an error would make an empty list a non-nil error.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// sorted orders problems by line, keeping the discovery order of problems on
// the same line.
func (es Errors) sorted() Errors {
	out := append(Errors(nil), es...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

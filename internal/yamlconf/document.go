package yamlconf

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Doc is a decoded file: the problems found so far and the line of every
// path that was present, so validation can point at the value it rejects.
type Doc struct {
	File  string
	lines map[string]int
	errs  Errors
	// malformed is set when the data is not YAML at all.
	malformed bool
}

// Malformed reports that the data was not valid YAML, so nothing was decoded
// and validating the zero value would only add noise to the syntax error.
func (d *Doc) Malformed() bool { return d.malformed }

// Line returns the line of path, or of its nearest present ancestor when
// path itself is absent (a missing key is reported where its parent starts).
func (d *Doc) Line(path string) int {
	for {
		if line, ok := d.lines[path]; ok {
			return line
		}
		if path == "" {
			return 0
		}
		path = parentPath(path)
	}
}

// Has reports whether path was present in the file, which tells an explicit
// zero (`threshold: 0`) from an omitted value.
func (d *Doc) Has(path string) bool {
	_, ok := d.lines[path]
	return ok
}

// Errorf records a problem with the value at path.
func (d *Doc) Errorf(path, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.File, Line: d.Line(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Errors returns every problem recorded so far, ordered by line.
func (d *Doc) Errors() Errors { return d.errs.sorted() }

// Err returns the problems as an error, or nil when there are none.
func (d *Doc) Err() error { return d.Errors().Err() }

// Key is the path of a mapping entry under parent. Keys that are not plain
// words are quoted, so a camera named "line1/cam0" reads unambiguously.
func Key(parent, key string) string {
	if !plainKey.MatchString(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Index is the path of a sequence item under parent.
func Index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// parentPath strips the last element of a path built by Key and Index.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		// The opening bracket of the last element is the last '[' outside a
		// quoted key; quoted keys are Go-quoted, so scan for the quote.
		if strings.HasSuffix(path, `"]`) {
			for i := len(path) - 3; i >= 1; i-- {
				if path[i] == '"' && path[i-1] == '[' {
					if _, err := strconv.Unquote(path[i : len(path)-1]); err == nil {
						return path[:i-1]
					}
				}
			}
		}
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

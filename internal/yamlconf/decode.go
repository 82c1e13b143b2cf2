package yamlconf

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	durationType        = reflect.TypeFor[time.Duration]()
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// Decode decodes the first YAML document of data into dst, which must be a
// non-nil pointer. It records every unknown key, duplicate key, wrong type and
// number out of range in the returned Doc and keeps decoding the rest, so one
// run shows all of them. Values that did not decode keep their zero value.
//
// Supported: structs (by `yaml` tag, `,inline` for embedded structs), slices,
// maps with string keys, strings, bools, ints, uints, floats, time.Duration
// written as "1500ms" or "2s", pointers, `any`, and types implementing
// yaml.Unmarshaler or encoding.TextUnmarshaler. Anchors, aliases and `<<`
// merge keys work as in YAML; explicit keys override merged ones.
func Decode(file string, data []byte, dst any) *Doc {
	d := &Doc{File: file, lines: map[string]int{}}
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic(fmt.Sprintf("yamlconf.Decode: destination must be a non-nil pointer, got %T", dst))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		d.errs = append(d.errs, syntaxError(file, err))
		d.malformed = true
		return d
	}
	if len(root.Content) == 0 {
		return d // an empty file decodes to the zero value
	}
	d.decode(root.Content[0], "", v.Elem())
	return d
}

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns yaml.v3's "yaml: line 3: ..." into an Error with a line.
func syntaxError(file string, err error) Error {
	msg := err.Error()
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Error{File: file, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func (d *Doc) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.File, Line: n.Line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *Doc) decode(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, ok := d.lines[path]; !ok {
		d.lines[path] = n.Line
	}
	t := v.Type()
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.fail(n, path, "%v", err)
		}
		return
	}
	if isNull(n) {
		v.SetZero()
		return
	}
	if t == durationType {
		d.decodeDuration(n, path, v)
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "expected a string, got %s", describe(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(n, path, "cannot parse %q: %v", n.Value, err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := reflect.New(t.Elem())
		d.decode(n, path, elem.Elem())
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		d.decodeSlice(n, path, v)
	case reflect.Map:
		d.decodeMap(n, path, v)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.fail(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.decodeInt(n, path, v)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		d.decodeUint(n, path, v)
	case reflect.Float32, reflect.Float64:
		d.decodeFloat(n, path, v)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			d.fail(n, path, "cannot decode into %s", t)
			return
		}
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(x))
	default:
		d.fail(n, path, "cannot decode into %s", t)
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what the file holds, for "expected X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return strconv.Quote(n.Value)
	}
}

func (d *Doc) decodeDuration(n *yaml.Node, path string, v reflect.Value) {
	dur, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		d.fail(n, path, "expected a duration such as 1500ms, 2s or 1m30s, got %s", describe(n))
		return
	}
	v.SetInt(int64(dur))
}

func (d *Doc) decodeInt(n *yaml.Node, path string, v reflect.Value) {
	var i int64
	if n.ShortTag() != "!!int" {
		d.fail(n, path, "expected an integer, got %s", describe(n))
		return
	}
	bits := v.Type().Bits()
	lo, hi := int64(-1)<<(bits-1), int64(uint64(1)<<(bits-1)-1)
	if n.Decode(&i) != nil || v.OverflowInt(i) {
		d.fail(n, path, "%s is out of range (accepted: %d to %d)", n.Value, lo, hi)
		return
	}
	v.SetInt(i)
}

func (d *Doc) decodeUint(n *yaml.Node, path string, v reflect.Value) {
	var u uint64
	if n.ShortTag() != "!!int" || strings.HasPrefix(n.Value, "-") {
		d.fail(n, path, "expected a non-negative integer, got %s", describe(n))
		return
	}
	hi := uint64(math.MaxUint64) >> (64 - v.Type().Bits())
	if n.Decode(&u) != nil || v.OverflowUint(u) {
		d.fail(n, path, "%s is out of range (accepted: 0 to %d)", n.Value, hi)
		return
	}
	v.SetUint(u)
}

func (d *Doc) decodeFloat(n *yaml.Node, path string, v reflect.Value) {
	var f float64
	tag := n.ShortTag()
	if (tag != "!!float" && tag != "!!int") || n.Decode(&f) != nil {
		d.fail(n, path, "expected a number, got %s", describe(n))
		return
	}
	// .nan and .inf are valid YAML but slip past range checks such as
	// `x < 0 || x > 1`, so a configuration never gets them.
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail(n, path, "expected a finite number, got %s", describe(n))
		return
	}
	if v.OverflowFloat(f) {
		d.fail(n, path, "%s is out of range for a %d-bit float", n.Value, v.Type().Bits())
		return
	}
	v.SetFloat(f)
}

func (d *Doc) decodeSlice(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, Index(path, i), s.Index(i))
	}
	v.Set(s)
}

func (d *Doc) decodeMap(n *yaml.Node, path string, v reflect.Value) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(n, path, "cannot decode into %s: map keys must be strings", t)
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	for _, e := range d.entries(n, path) {
		p := Key(path, e.key)
		d.lines[p] = e.keyNode.Line
		elem := reflect.New(t.Elem()).Elem()
		d.decode(e.value, p, elem)
		v.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), elem)
	}
}

func (d *Doc) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	fields := structFields(v.Type())
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping with keys %s, got %s", acceptedKeys(fields), describe(n))
		return
	}
	for _, e := range d.entries(n, path) {
		p := Key(path, e.key)
		f, ok := fields.find(e.key)
		if !ok {
			d.fail(e.keyNode, p, "unknown key %q (accepted: %s)", e.key, acceptedKeys(fields))
			continue
		}
		d.lines[p] = e.keyNode.Line
		d.decode(e.value, p, v.FieldByIndex(f.index))
	}
}

// entry is one key/value pair of a mapping after merge keys are resolved.
type entry struct {
	key     string
	keyNode *yaml.Node
	value   *yaml.Node
}

// entries lists a mapping's pairs with `<<` merges applied: explicit keys win
// over merged ones, and earlier merged mappings over later ones. Duplicate
// explicit keys and non-string keys are reported and skipped.
func (d *Doc) entries(n *yaml.Node, path string) []entry {
	var own, merged []entry
	firstLine := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSource(val, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.fail(k, path, "keys must be strings, got %s", describe(k))
			continue
		}
		if line, dup := firstLine[k.Value]; dup {
			d.fail(k, Key(path, k.Value), "duplicate key %q (first on line %d)", k.Value, line)
			continue
		}
		firstLine[k.Value] = k.Line
		own = append(own, entry{k.Value, k, val})
	}
	for _, e := range merged {
		if _, taken := firstLine[e.key]; !taken {
			firstLine[e.key] = e.keyNode.Line
			own = append(own, e)
		}
	}
	return own
}

// mergeSource returns the pairs that a `<<` value contributes.
func (d *Doc) mergeSource(n *yaml.Node, path string) []entry {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		return d.entries(n, path)
	case yaml.SequenceNode:
		var out []entry
		for _, item := range n.Content {
			out = append(out, d.mergeSource(item, path)...)
		}
		return out
	default:
		d.fail(n, path, "a << merge takes a mapping or a list of mappings, got %s", describe(n))
		return nil
	}
}

// field is a struct field reachable by a YAML key.
type field struct {
	name  string
	index []int
}

type fieldList []field

func (fs fieldList) find(name string) (field, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

func acceptedKeys(fs fieldList) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// structFields lists the keys of a struct the way yaml.v3 names them: the
// tag's name, or the lower-cased field name; "-" skips a field and ",inline"
// lifts the keys of an embedded struct.
func structFields(t reflect.Type) fieldList {
	var fs fieldList
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		// An embedded struct's exported fields are settable even when the
		// embedded type itself is unexported.
		if strings.Contains(","+opts+",", ",inline,") && sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			for _, inner := range structFields(sf.Type) {
				fs = append(fs, field{inner.name, append([]int{i}, inner.index...)})
			}
			continue
		}
		if !sf.IsExported() || tag == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fs = append(fs, field{name, []int{i}})
	}
	return fs
}

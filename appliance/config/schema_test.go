package config

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/yamlconf"
)

// The JSON Schemas serve editors; these tests keep them in step with the
// Go types that actually decode the files.

const schemaDir = "../../docs/schema/"

type schemaNode = map[string]any

func readSchema(t *testing.T, name string) schemaNode {
	t.Helper()
	data, err := os.ReadFile(schemaDir + name)
	if err != nil {
		t.Fatal(err)
	}
	var s schemaNode
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s is not valid JSON: %v", name, err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("%s: $schema is %v, want draft 2020-12", name, s["$schema"])
	}
	return s
}

// resolve follows a node's $ref chain within root.
func resolve(t *testing.T, root, n schemaNode) schemaNode {
	t.Helper()
	for n != nil {
		ref, ok := n["$ref"].(string)
		if !ok {
			return n
		}
		name, found := strings.CutPrefix(ref, "#/$defs/")
		if !found {
			t.Fatalf("unsupported $ref %q", ref)
		}
		def, _ := root["$defs"].(schemaNode)[name].(schemaNode)
		if def == nil {
			t.Fatalf("$ref %q names no definition", ref)
		}
		n = def
	}
	return n
}

func propertyNames(n schemaNode) []string {
	props, _ := n["properties"].(schemaNode)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// yamlKeys lists the keys a struct accepts, as yamlconf reads its tags.
func yamlKeys(t reflect.Type) map[string]reflect.StructField {
	keys := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" {
			for k, inner := range yamlKeys(f.Type) {
				inner.Index = append([]int{i}, inner.Index...)
				keys[k] = inner
			}
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys[name] = f
	}
	return keys
}

var durationType = reflect.TypeFor[time.Duration]()

// checkSchema walks v and the schema node for it together: every struct's
// keys must be the schema object's properties, no more and no fewer, and a
// scalar's schema default must be the value Load gives an omitted key.
func checkSchema(t *testing.T, root schemaNode, path string, v reflect.Value, n schemaNode, defaulted bool) {
	if n == nil {
		t.Errorf("%s: not in the schema", path)
		return
	}
	if def, ok := n["default"]; ok && defaulted {
		checkDefault(t, path, v, def)
	}
	n = resolve(t, root, n)
	switch {
	case v.Type() == durationType:
	case v.Kind() == reflect.Pointer:
		checkSchema(t, root, path, reflect.New(v.Type().Elem()).Elem(), n, false)
	case v.Kind() == reflect.Slice:
		items, _ := n["items"].(schemaNode)
		if v.Len() == 0 {
			checkSchema(t, root, path+"[]", reflect.New(v.Type().Elem()).Elem(), items, false)
		}
		for i := range v.Len() {
			checkSchema(t, root, yamlconf.Index(path, i), v.Index(i), items, defaulted)
		}
	case v.Kind() == reflect.Struct:
		keys := yamlKeys(v.Type())
		goKeys := make([]string, 0, len(keys))
		for k := range keys {
			goKeys = append(goKeys, k)
		}
		slices.Sort(goKeys)
		if got := propertyNames(n); !slices.Equal(got, goKeys) {
			t.Errorf("%s: schema properties %v, Go keys %v", path, got, goKeys)
		}
		if n["additionalProperties"] != false {
			t.Errorf("%s: schema allows additional properties, the decoder does not", path)
		}
		props, _ := n["properties"].(schemaNode)
		for _, k := range goKeys {
			if sub, ok := props[k].(schemaNode); ok {
				checkSchema(t, root, yamlconf.Key(path, k), v.FieldByIndex(keys[k].Index), sub, defaulted)
			}
		}
	}
}

func checkDefault(t *testing.T, path string, v reflect.Value, def any) {
	var want any
	switch {
	case v.Type() == durationType:
		s, _ := def.(string)
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Errorf("%s: schema default %v is not a duration", path, def)
			return
		}
		want = d
	case v.Kind() == reflect.String:
		want = def
		v = reflect.ValueOf(v.String())
	case v.Kind() == reflect.Bool:
		want = def
	case v.CanInt():
		f, _ := def.(float64)
		want = int64(f)
		v = reflect.ValueOf(v.Int())
	case v.CanFloat():
		want = def
		v = reflect.ValueOf(v.Float())
	default:
		return // lists and objects are documented, not compared
	}
	if got := v.Interface(); !reflect.DeepEqual(got, want) {
		t.Errorf("%s: schema default %v, Load gives %v", path, def, got)
	}
}

func TestApplianceSchemaMatchesTheGoTypes(t *testing.T) {
	root := readSchema(t, "appliance.schema.json")
	// Only what has no default is set, so every other value is a default.
	c, err := Parse("linesight.yaml", []byte("line: l\nmodel: {bundle: m}\ncameras: [{id: c, source: {kind: synthetic}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, root, "", reflect.ValueOf(*c), root, true)
}

var acceptedList = regexp.MustCompile(`\(accepted: ([^)]*)\)`)

// TestDefectsSchemaMatchesTheDecoder asks the defect-file decoder which keys
// it accepts at each level, through its unknown-key message.
func TestDefectsSchemaMatchesTheDecoder(t *testing.T) {
	root := readSchema(t, "defects.schema.json")
	set := resolve(t, root, root["$defs"].(schemaNode)["set"].(schemaNode))
	class := resolve(t, root, root["$defs"].(schemaNode)["class"].(schemaNode))
	levels := []struct {
		name string
		yaml string
		node schemaNode
	}{
		{"top level", "bogus: 1\n", root},
		{"set", "sets: {s: {bogus: 1}}\n", set},
		{"class", "sets: {s: {good: {bogus: 1}}}\n", class},
	}
	for _, l := range levels {
		_, err := defects.Parse("d.yaml", []byte(l.yaml))
		var es yamlconf.Errors
		errors.As(err, &es)
		var keys []string
		for _, e := range es {
			if strings.HasSuffix(e.Path, "bogus") {
				if m := acceptedList.FindStringSubmatch(e.Msg); m != nil {
					keys = strings.Split(m[1], ", ")
				}
			}
		}
		if keys == nil {
			t.Fatalf("%s: no unknown-key message in %v", l.name, err)
		}
		slices.Sort(keys)
		if got := propertyNames(l.node); !slices.Equal(got, keys) {
			t.Errorf("%s: schema properties %v, decoder keys %v", l.name, got, keys)
		}
		if l.node["additionalProperties"] != false {
			t.Errorf("%s: schema allows additional properties, the decoder does not", l.name)
		}
	}
}

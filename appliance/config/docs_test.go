package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const configDoc = "../../docs/config.md"

// docExample returns the YAML block under the doc's "A complete example".
func docExample(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "## A complete example")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	block, _, ok3 := strings.Cut(rest, "\n```\n")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("%s: no yaml block under \"## A complete example\"", configDoc)
	}
	return block + "\n"
}

func TestDocExampleLoads(t *testing.T) {
	classes, err := os.ReadFile("testdata/defects.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := writeDir(t, map[string]string{"linesight.yaml": docExample(t), "defects.yaml": string(classes)})
	c, err := LoadAppliance(filepath.Join(dir, "linesight.yaml"))
	if err != nil {
		t.Fatalf("the example in %s does not load:\n%v", configDoc, err)
	}
	if len(c.Cameras) != 2 || c.Cameras[0].Mode != ModeTriggered || c.MQTT.Broker == "" {
		t.Errorf("example loaded as %+v", c)
	}
}

// TestDocNamesEveryKey finds every key the Go types accept in the reference.
func TestDocNamesEveryKey(t *testing.T) {
	data, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == durationType || seen[typ] {
			return
		}
		seen[typ] = true
		for key, f := range yamlKeys(typ) {
			// A key is documented on its own (`key`) or as a dotted or
			// comma-joined part of a row (`tls.cert`, `fp16`, `int8`).
			if !strings.Contains(doc, "`"+key+"`") && !strings.Contains(doc, "."+key+"`") {
				t.Errorf("%s: key %q of %s is not in the reference", configDoc, key, typ.Name())
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeFor[Config]())
}

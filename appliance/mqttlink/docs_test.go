package mqttlink

import (
	"bufio"
	"encoding/json"
	"github.com/linesight/linesight/appliance/processalarm"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/appliance/trigger"
	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
)

// field is one row of a schema table in docs/mqtt.md.
type field struct {
	typ      string
	required bool
}

// docSchemas reads the tables of docs/mqtt.md that follow a
// "<!-- schema: name -->" marker: name -> field -> type.
func docSchemas(t *testing.T) map[string]map[string]field {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "mqtt.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer testenv.Close(t, "docs/mqtt.md", f)
	marker := regexp.MustCompile(`^<!-- schema: (\S+) -->$`)
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| ([a-z]+) \\| (yes|no) \\|")
	out := map[string]map[string]field{}
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if m := marker.FindStringSubmatch(line); m != nil {
			cur = m[1]
			out[cur] = map[string]field{}
			continue
		}
		if cur == "" {
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil {
			out[cur][m[1]] = field{m[2], m[3] == "yes"}
		} else if !strings.HasPrefix(line, "|") && len(out[cur]) > 0 {
			cur = ""
		}
	}
	return out
}

// checkSchema fails for keys the doc does not list, required keys missing
// and values of another type, recursing into documented objects and arrays.
func checkSchema(t *testing.T, schemas map[string]map[string]field, name string, payload []byte) {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal(payload, &obj); err != nil {
		t.Fatalf("%s: %v: %s", name, err, payload)
	}
	checkObject(t, schemas, name, obj)
}

func checkObject(t *testing.T, schemas map[string]map[string]field, name string, obj map[string]any) {
	t.Helper()
	schema, ok := schemas[name]
	if !ok {
		t.Fatalf("docs/mqtt.md has no schema %q", name)
	}
	for key, value := range obj {
		f, ok := schema[key]
		if !ok {
			t.Errorf("%s: key %q is not documented", name, key)
			continue
		}
		if !hasType(value, f.typ) {
			t.Errorf("%s.%s = %v (%T); the doc says %s", name, key, value, value, f.typ)
		}
		switch v := value.(type) {
		case map[string]any:
			checkObject(t, schemas, name+"."+key, v)
		case []any:
			for _, item := range v {
				if m, ok := item.(map[string]any); ok {
					checkObject(t, schemas, name+"."+key+"[]", m)
				}
			}
		}
	}
	for key, f := range schema {
		if _, ok := obj[key]; f.required && !ok {
			t.Errorf("%s: required key %q is missing", name, key)
		}
	}
}

func hasType(v any, typ string) bool {
	switch typ {
	case "string":
		_, ok := v.(string)
		return ok
	case "timestamp":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil && strings.HasSuffix(s, "Z")
	case "integer":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// Every message the link sends is checked against the contract's tables.
func TestMessagesMatchTheDocumentedSchemas(t *testing.T) {
	schemas := docSchemas(t)
	for _, name := range []string{"status", "status.model", "status.cameras[]", "verdict", "verdict.scores[]", "verdict.anomaly", "verdict.anomaly.region", "verdict.regions[]", "verdict.regions[].box", "verdict.regions[].scores[]", "verdict.views[]", "trigger", "error", "stats", "stats.cameras[]", "stats.cameras[].processing"} {
		if len(schemas[name]) == 0 {
			t.Fatalf("docs/mqtt.md: schema %q is missing or empty", name)
		}
	}
	b := startBroker(t, nil)
	plc := subscribe(t, b.URL(), "plc", "linesight/line1/#", nil)
	ob, app := newOutbox(), newFakeApp()
	app.set(func(s *Snapshot) {
		s.Cameras = []CameraCounters{{Camera: "cam0", Triggers: 3}}
		s.Degraded = []string{"journal cannot commit (no space left on device)"}
		s.Alarms = []processalarm.Alarm{{Kind: processalarm.KindLowYield, Severity: "warning", Camera: "cam0", Message: "camera cam0: yield 0% over the last 50 parts, below 80%"}}
	})
	o := testOptions(b.URL())
	o.MQTT.StatsInterval = 50 * time.Millisecond
	l, stop := runLink(t, o, ob, app)
	awaitConnected(t, l)

	for i, out := range []defects.Outcome{defects.Pass, defects.Fail, defects.Uncertain, defects.Missed} {
		ob.Append(verdict("cam0", uint64(i+1), out))
	}
	// Anomaly fields, with a region and without; the map stays out.
	anomalous := verdict("cam0", 5, defects.Fail)
	anomalous.Class, anomalous.Confidence = defects.AnomalyClass, 0.41
	anomalous.Anomaly = &defects.Anomaly{Score: 0.41, Threshold: 0.3, Region: &defects.Region{X: 120, Y: 80, W: 64, H: 40},
		Grid: 2, Map: []uint8{1, 2, 3, 4}, Window: &defects.Region{W: 10, H: 10}}
	ob.Append(anomalous)
	quiet := verdict("cam0", 6, defects.Pass)
	quiet.Anomaly = &defects.Anomaly{Score: 0.1, Threshold: 0.3, Grid: 2, Map: []uint8{1, 2, 3, 4}}
	// A triggered part judged by the PLC's time, on a frame another part
	// was judged on too.
	quiet.TriggeredAt, quiet.FrameOffset, quiet.SharedFrame = quiet.CapturedAt.Add(-20*time.Millisecond), 20*time.Millisecond, true
	quiet.Recipe = "washer-b"
	// A part stage's verdict with its two views.
	part := verdict("housing", 1, defects.Fail)
	part.PartID, part.View = "A-1", "side"
	part.Views = []defects.View{
		{Camera: "top", Seq: 7, CapturedAt: part.CapturedAt, Outcome: defects.Pass, Action: defects.ActionPass, Class: "good", Confidence: 0.9},
		{Camera: "side", Seq: 9, CapturedAt: part.CapturedAt, Outcome: defects.Fail, Action: defects.ActionReject, Class: "scratch", Confidence: 0.8},
	}
	ob.Append(part)
	// A camera with two regions.
	quiet.Region = "label"
	quiet.Regions = []defects.RegionVerdict{
		{Name: "label", Box: defects.Region{X: 10, Y: 20, W: 100, H: 40}, Set: "labels", Outcome: defects.Pass, Action: defects.ActionPass, Class: "good", Confidence: 0.9,
			Scores: []defects.ClassScore{{Class: "good", Score: 0.9}, {Class: "smudge", Score: 0.1}}},
		{Name: "weld", Box: defects.Region{X: 200, Y: 20, W: 80, H: 80}, Set: "welds", Outcome: defects.Pass, Action: defects.ActionPass, Class: "good", Confidence: 0.8,
			Scores: []defects.ClassScore{{Class: "good", Score: 0.8}, {Class: "porosity", Score: 0.2}}},
	}
	ob.Append(quiet)
	plc.publish("linesight/line1/cam0/trigger", []byte(`{"part_id":7}`))
	plc.await("verdicts", "/verdict", func(m []received) bool { return len(m) >= 7 })
	withAnomaly := 0
	for _, m := range plc.on("/verdict") {
		if strings.Contains(string(m.payload), `"anomaly":{"score":0.41,"threshold":0.3,"region":{"x":120,"y":80,"w":64,"h":40}}`) {
			withAnomaly++
		}
		if strings.Contains(string(m.payload), "map") || strings.Contains(string(m.payload), "grid") {
			t.Errorf("the anomaly map reached the PLC: %s", m.payload)
		}
	}
	if withAnomaly != 1 {
		t.Errorf("%d verdicts with the anomaly fields, want 1", withAnomaly)
	}
	timed := 0
	for _, m := range plc.on("/verdict") {
		if strings.Contains(string(m.payload), `"frame_offset_ms":20,"shared_frame":true,"recipe":"washer-b"`) && strings.Contains(string(m.payload), `"triggered_at":"`) {
			timed++
		}
	}
	if timed != 1 {
		t.Errorf("%d verdicts with the trigger's time and shared_frame, want 1", timed)
	}
	plc.await("an error", "/error", func(m []received) bool { return len(m) >= 1 })
	plc.await("the process alarms", "/alarms", func(m []received) bool {
		return len(m) > 0 && strings.Contains(string(m[len(m)-1].payload), `"kind":"low_yield"`)
	})
	plc.await("stats with processing", "/stats", func(m []received) bool {
		return len(m) > 0 && strings.Contains(string(m[len(m)-1].payload), `"ok":2,`) // the two PASS verdicts
	})
	stop()
	plc.await("offline", "/status", lastIs(t, "offline", ""))

	kinds := map[string]int{}
	for _, m := range plc.on("") {
		parts := strings.Split(m.topic, "/")
		kind := parts[len(parts)-1]
		if kind == "trigger" {
			continue // ours, deliberately malformed
		}
		kinds[kind]++
		checkSchema(t, schemas, kind, m.payload)
	}
	for _, k := range []string{"status", "verdict", "error", "stats"} {
		if kinds[k] == 0 {
			t.Errorf("no %s message checked", k)
		}
	}

	// The trigger table lists exactly what the decoder accepts.
	var keys []string
	for _, f := range reflect.VisibleFields(reflect.TypeFor[trigger.Payload]()) {
		keys = append(keys, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	var documented []string
	for k := range schemas["trigger"] {
		documented = append(documented, k)
	}
	sort.Strings(keys)
	sort.Strings(documented)
	if !reflect.DeepEqual(keys, documented) {
		t.Errorf("trigger keys: decoder %v, doc %v", keys, documented)
	}
	// So does the recipe command's.
	keys, documented = nil, nil
	for _, f := range reflect.VisibleFields(reflect.TypeFor[RecipeCommand]()) {
		keys = append(keys, strings.Split(f.Tag.Get("json"), ",")[0])
	}
	for k := range schemas["recipe"] {
		documented = append(documented, k)
	}
	sort.Strings(keys)
	sort.Strings(documented)
	if !reflect.DeepEqual(keys, documented) {
		t.Errorf("recipe command keys: decoder %v, doc %v", keys, documented)
	}
}

// The JSON examples in docs/mqtt.md are themselves valid against the tables.
func TestDocExamplesMatchTheirSchemas(t *testing.T) {
	schemas := docSchemas(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "mqtt.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	seen := map[string]bool{}
	for _, b := range blocks {
		payload := []byte(strings.ReplaceAll(b[1], "…", ""))
		var probe map[string]any
		if err := json.Unmarshal(payload, &probe); err != nil {
			t.Errorf("doc example is not JSON: %v\n%s", err, b[1])
			continue
		}
		kind := exampleKind(probe)
		seen[kind] = true
		checkSchema(t, schemas, kind, payload)
		if kind == "trigger" {
			if _, err := trigger.Decode(payload); err != nil {
				t.Errorf("doc trigger example rejected: %v", err)
			}
		}
		if kind == "recipe" {
			if _, code, reason := decodeRecipe(payload); code != "" {
				t.Errorf("doc recipe example rejected: %s: %s", code, reason)
			}
		}
	}
	for _, k := range []string{"status", "verdict", "trigger", "error", "stats", "alarms", "recipe"} {
		if !seen[k] {
			t.Errorf("docs/mqtt.md has no %s example", k)
		}
	}
}

func exampleKind(m map[string]any) string {
	has := func(k string) bool { _, ok := m[k]; return ok }
	switch {
	case has("state") && !has("interval_s"):
		return "status"
	case has("outcome"):
		return "verdict"
	case has("code"):
		return "error"
	case has("interval_s"):
		return "stats"
	case has("active"):
		return "alarms"
	case has("recipe"):
		return "recipe"
	}
	return "trigger"
}

// The two hashes have two names: a verdict's defects_hash is the status's
// defects_hash (the defect file), never the status's config_hash (the
// appliance configuration). The verdict's old config_hash stays, holding
// the defect-file hash, and the contract says it is deprecated.
func TestHashesAreNamedApart(t *testing.T) {
	b := startBroker(t, nil)
	plc := subscribe(t, b.URL(), "plc", "linesight/line1/#", nil)
	ob := newOutbox()
	l, stop := runLink(t, testOptions(b.URL()), ob, newFakeApp())
	awaitConnected(t, l)
	ob.Append(verdict("cam0", 1, defects.Fail))
	plc.await("a verdict", "/verdict", func(m []received) bool { return len(m) >= 1 })
	stop()

	var status map[string]any
	for _, m := range plc.on("/status") {
		var s map[string]any
		if err := json.Unmarshal(m.payload, &s); err != nil {
			t.Fatal(err)
		}
		if s["state"] == "online" {
			status = s
		}
	}
	var v map[string]any
	if err := json.Unmarshal(plc.on("/verdict")[0].payload, &v); err != nil {
		t.Fatal(err)
	}
	if status["config_hash"] != "sha256:config" || status["defects_hash"] != "sha256:defects" {
		t.Errorf("status config_hash %v defects_hash %v; want the configuration's and the defect file's", status["config_hash"], status["defects_hash"])
	}
	if v["defects_hash"] != status["defects_hash"] {
		t.Errorf("verdict defects_hash %v, status defects_hash %v: the same file must have the same name", v["defects_hash"], status["defects_hash"])
	}
	if v["config_hash"] != v["defects_hash"] {
		t.Errorf("verdict config_hash %v: the deprecated field must keep holding the defect-file hash %v", v["config_hash"], v["defects_hash"])
	}
	row := schemaRow(t, "verdict", "config_hash")
	if !strings.Contains(row, "deprecated") || !strings.Contains(row, "`defects_hash`") {
		t.Errorf("docs/mqtt.md does not mark the verdict's config_hash deprecated in favour of defects_hash: %s", row)
	}
}

// schemaRow is the table row documenting key in the named schema.
func schemaRow(t *testing.T, schema, key string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "mqtt.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "<!-- schema: "+schema+" -->")
	if !ok {
		t.Fatalf("docs/mqtt.md has no schema %q", schema)
	}
	for _, line := range strings.Split(rest, "\n") {
		if strings.HasPrefix(line, "| `"+key+"` |") {
			return line
		}
	}
	t.Fatalf("docs/mqtt.md schema %q has no row for %q", schema, key)
	return ""
}

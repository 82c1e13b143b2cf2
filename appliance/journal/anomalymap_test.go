package journal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
)

// A verdict's anomaly fields are in its record; the map, with the window
// and box scaled to the stored image, comes back from Query and Get, and
// goes when retention removes the record.
func TestAnomalyMapIsJournaled(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, testOptions(dir)) // images at most 32 px
	v := verdict("cam0", 1, t0, defects.Fail, defects.AnomalyClass, "A")
	values := make([]uint8, 16)
	values[5] = 200
	v.Anomaly = &defects.Anomaly{Score: 0.8, Threshold: 0.3, Region: &defects.Region{X: 120, Y: 80, W: 64, H: 40},
		Grid: 4, Map: values, Window: &defects.Region{X: 8, Y: 0, W: 48, H: 48}, Box: &defects.Region{X: 20, Y: 10, W: 11, H: 7}}
	write(t, j, v, testFrame(64, 48, 1)) // stored at 32 x 24: half size
	write(t, j, verdict("cam0", 2, t0.Add(time.Second), defects.Pass, "good", "B"), testFrame(64, 48, 2))
	waitWritten(t, j, 2)

	p, err := j.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	var rec, plain Record
	for _, r := range p.Records {
		if r.Seq == 1 {
			rec = r
		} else {
			plain = r
		}
	}
	m := rec.AnomalyMap
	if m == nil || m.Grid != 4 || len(m.Values) != 16 || m.Values[5] != 200 {
		t.Fatalf("anomaly map %+v", m)
	}
	if want := (defects.Region{X: 4, Y: 0, W: 24, H: 24}); m.Window != want {
		t.Errorf("window %+v, want %+v (half of the frame's)", m.Window, want)
	}
	// x 20..31 halves to 10..15.5, outward 10..16; y 10..17 to 5..9.
	if want := (defects.Region{X: 10, Y: 5, W: 6, H: 4}); m.Box == nil || *m.Box != want {
		t.Errorf("box %+v, want %+v", m.Box, want)
	}
	if rec.Anomaly == nil || rec.Anomaly.Score != 0.8 || rec.Anomaly.Region == nil || *rec.Anomaly.Region != *v.Anomaly.Region {
		t.Errorf("anomaly fields %+v", rec.Anomaly)
	}
	if plain.AnomalyMap != nil || plain.Anomaly != nil {
		t.Errorf("a record without anomaly detection has %+v %+v", plain.Anomaly, plain.AnomalyMap)
	}
	got, err := j.Get(rec.ID)
	if err != nil || got.AnomalyMap == nil || got.AnomalyMap.Values[5] != 200 {
		t.Errorf("Get: %v %+v", err, got.AnomalyMap)
	}
	// The JSON the API returns: values as numbers, the contract's shape.
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"anomaly_map":{"grid":4,"values":[0,0,0,0,0,200,`, `"window":{"x":4,"y":0,"w":24,"h":24}`,
		`"anomaly":{"score":0.8,"threshold":0.3,"region":{"x":120,"y":80,"w":64,"h":40}}`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("record JSON lacks %s: %s", want, raw)
		}
	}
}

// A journal written by the previous version (schema 1, no anomaly_maps
// bucket) opens, is migrated, keeps its records and takes maps.
func TestMigratesSchema1(t *testing.T) {
	dir := t.TempDir()
	old, err := os.ReadFile("testdata/journal-v1.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), old, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: dir, ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "schema version 1") {
		t.Errorf("read-only open of v1: %v", err)
	}
	j := mustOpen(t, testOptions(dir))
	p, err := j.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 2 {
		t.Fatalf("%d records after migration, want 2", len(p.Records))
	}
	v := verdict("cam0", 3, t0.Add(time.Hour), defects.Pass, "good", "C")
	v.Anomaly = &defects.Anomaly{Score: 0.1, Threshold: 0.3, Grid: 2, Map: []uint8{1, 2, 3, 4}, Window: &defects.Region{W: 10, H: 10}}
	write(t, j, v, nil)
	waitWritten(t, j, 1)
	p, err = j.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range p.Records {
		if r.Seq == 3 && r.AnomalyMap != nil && r.AnomalyMap.Values[3] == 4 {
			found = true
		}
	}
	if !found {
		t.Errorf("the migrated journal did not keep a new record's map: %+v", p.Records)
	}
}

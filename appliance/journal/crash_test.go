package journal

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

const crashChildEnv = "LINESIGHT_JOURNAL_CRASH_CHILD"

// TestCrashChild is the child of TestKillDuringWrites: it writes records
// without pause (every third with an image) and prints the last committed
// id after each flush, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("run by TestKillDuringWrites")
	}
	o := testOptions(dir)
	o.FlushInterval = 2 * time.Millisecond
	j, err := Open(o)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	go func() {
		var last uint64
		for {
			if id := j.Stats().LastID; id != last {
				fmt.Printf("flushed %d\n", id)
				last = id
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	f := testFrame(64, 48, 1)
	for seq := uint64(1); ; seq++ {
		o := defects.Pass
		if seq%3 == 0 {
			o = defects.Fail
		}
		v := verdict("cam0", seq, time.Now(), o, "c", "P"+strconv.FormatUint(seq, 10))
		if err := j.Write(context.Background(), &inspect.Result{Verdict: v, Frame: f}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
}

func TestKillDuringWrites(t *testing.T) {
	dir := t.TempDir()
	for round := 1; round <= 2; round++ {
		before := lastID(t, dir)
		reported := runAndKill(t, dir)
		if reported <= before {
			t.Fatalf("round %d: child reported id %d, not past %d", round, reported, before)
		}
		// Check the file on its own: bbolt's Check must not run beside a
		// writer's commit.
		db, err := bolt.Open(filepath.Join(dir, FileName), 0o644, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("round %d: open after kill -9: %v", round, err)
		}
		var check error
		err = db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				check = err
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: view: %v", round, err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
		if check != nil {
			t.Fatalf("round %d: file inconsistent after kill -9: %v", round, check)
		}
		j := mustOpen(t, testOptions(dir))
		// Every id up to the last reported flush is there, in one piece.
		for id := before + 1; id <= reported; id++ {
			r, err := j.Get(id)
			if err != nil || r.Seq == 0 || len(r.Embedding) != 3 {
				t.Fatalf("round %d: record %d of %d reported: %+v, %v", round, id, reported, r, err)
			}
			if r.Image != "" {
				if _, err := os.Stat(filepath.Join(dir, ImagesDir, r.Image)); err != nil {
					t.Fatalf("record %d points at a missing image: %v", id, err)
				}
			}
		}
		// No image file is left without its record.
		known := map[string]bool{}
		p, err := j.Query(Query{Limit: 10000, From: time.Now().Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			known[r.Image] = true
		}
		if err := filepath.WalkDir(filepath.Join(dir, ImagesDir), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, err := filepath.Rel(filepath.Join(dir, ImagesDir), path)
				if err != nil {
					t.Fatal(err)
				}
				if !known[rel] {
					t.Errorf("round %d: orphan image %s", round, rel)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// Ids go on from the last committed one.
		last := j.Stats().LastID
		write(t, j, verdict("cam0", 1, time.Now(), defects.Pass, "c", ""), nil)
		waitWritten(t, j, 1)
		if got := j.Stats().LastID; got != last+1 {
			t.Errorf("round %d: next id %d, want %d", round, got, last+1)
		}
		t.Logf("round %d: %d reported, %d committed", round, reported, last)
		if err := j.Close(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

func lastID(t *testing.T, dir string) uint64 {
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		return 0
	}
	j := mustOpen(t, testOptions(dir))
	defer testenv.Close(t, "the journal", j)
	return j.Stats().LastID
}

// runAndKill starts the child, lets it commit a few hundred records, kills
// it with SIGKILL mid-write and returns the last id it reported flushed.
func runAndKill(t *testing.T, dir string) uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var reported, seen uint64
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(20*time.Second, func() {
		if err := cmd.Process.Kill(); err != nil {
			t.Logf("killing the child at the deadline: %v (it may have just exited)", err)
		}
	})
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
		if id, ok := strings.CutPrefix(line, "flushed "); ok {
			if reported, err = strconv.ParseUint(id, 10, 64); err != nil {
				t.Fatalf("child: %s: %v", line, err)
			}
			seen++
			if seen == 15 {
				// Everything printed before the kill was flushed before it.
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child exited cleanly, want it killed")
	}
	return reported
}

package benchmodels

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"
)

// childEnv makes the test binary act as a child process: "measure" runs
// ChildMain, as `linesight bench models __measure-variant` does; "alloc"
// touches the megabytes it is asked for and reports its peak memory.
const childEnv = "LINESIGHT_BENCHMODELS_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "measure":
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if err := ChildMain(context.Background(), os.Stdin, os.Stdout, log); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "alloc":
		os.Exit(allocChild())
	}
	os.Exit(m.Run())
}

type allocRequest struct{ MB int }
type allocAnswer struct{ PeakRSS int64 }

// allocChild allocates and writes every page of the requested size, frees
// nothing, and reports VmHWM through peakRSS.
func allocChild() int {
	var req allocRequest
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	buf := make([]byte, req.MB<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	peak, err := peakRSS()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(allocAnswer{peak + int64(buf[0]-1)}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// selfAs re-runs this test binary as a child of the given kind.
func selfAs(kind string) Command {
	return Command{Path: os.Args[0], Args: []string{"-test.run=^$"}, Env: []string{childEnv + "=" + kind}}
}

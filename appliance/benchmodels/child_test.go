package benchmodels

import (
	"context"
	"os"
	"testing"
)

func TestParseVmHWM(t *testing.T) {
	status := "Name:\tlinesight\nVmPeak:\t 9999 kB\nVmHWM:\t   20480 kB\nVmRSS:\t  1024 kB\n"
	got, err := parseVmHWM(status)
	if err != nil || got != 20480*1024 {
		t.Fatalf("parseVmHWM = %d, %v; want %d", got, err, 20480*1024)
	}
	for _, bad := range []string{"VmRSS:\t1 kB\n", "VmHWM:\t12 MB\n", "VmHWM:\tlots kB\n"} {
		if _, err := parseVmHWM(bad); err == nil {
			t.Errorf("parseVmHWM(%q) gave no error", bad)
		}
	}
}

// TestChildPeakRSSIsPerProcess runs two children that touch 32 and 288 MB:
// each reports at least what it touched, and the small one does not see the
// big one's peak (nor the parent's), which one shared process would.
func TestChildPeakRSSIsPerProcess(t *testing.T) {
	ctx := context.Background()
	var small, big allocAnswer
	if err := runChild(ctx, selfAs("alloc"), allocRequest{MB: 288}, &big, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if err := runChild(ctx, selfAs("alloc"), allocRequest{MB: 32}, &small, os.Stderr); err != nil {
		t.Fatal(err)
	}
	const mb = 1 << 20
	t.Logf("peak RSS: small child %d MB, big child %d MB", small.PeakRSS/mb, big.PeakRSS/mb)
	if small.PeakRSS < 32*mb || big.PeakRSS < 288*mb {
		t.Errorf("peaks %d and %d MB, want at least 32 and 288", small.PeakRSS/mb, big.PeakRSS/mb)
	}
	if big.PeakRSS-small.PeakRSS < 200*mb {
		t.Errorf("the 32 MB child peaked at %d MB, the 288 MB one at %d MB: peaks mix", small.PeakRSS/mb, big.PeakRSS/mb)
	}
}

func TestChildFailureIsAnError(t *testing.T) {
	var out allocAnswer
	// A request the child cannot decode makes it exit 1.
	if err := runChild(context.Background(), selfAs("alloc"), "not a request", &out, os.Stderr); err == nil {
		t.Fatal("a failing child gave no error")
	}
}

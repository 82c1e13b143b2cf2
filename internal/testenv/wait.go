package testenv

import (
	"testing"
	"time"
)

// WaitDeadline is how long WaitFor polls before it fails the test. It only
// guards against a hang: generous, so a loaded machine is never mistaken
// for a fault.
const WaitDeadline = 90 * time.Second

// WaitFor polls cond until it holds, failing the test with what it waited
// for once WaitDeadline has passed. Inside a testing/synctest bubble the
// deadline is on the bubble's clock.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after %v", what, WaitDeadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

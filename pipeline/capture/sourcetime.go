package capture

import (
	"time"

	"golang.org/x/sys/unix"
)

// maxBufferAge is the oldest a V4L2 buffer time may be and still be taken
// for the frame's: older, or in the future, it is not on the monotonic
// clock (some drivers stamp with another clock, or not at all).
const maxBufferAge = 2 * time.Second

// monotonicToWall turns a buffer time in milliseconds on the monotonic
// clock into the appliance's wall clock, given both clocks' readings now.
// ok is false for a time that cannot be the frame's (see maxBufferAge).
func monotonicToWall(bufferMs float64, monoNow time.Duration, wallNow time.Time) (time.Time, bool) {
	if !(bufferMs > 0) {
		return time.Time{}, false
	}
	age := monoNow - time.Duration(bufferMs*float64(time.Millisecond))
	if age < 0 || age > maxBufferAge {
		return time.Time{}, false
	}
	return wallNow.Add(-age), true
}

// monotonicNow reads CLOCK_MONOTONIC, the clock V4L2 stamps buffers with.
func monotonicNow() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

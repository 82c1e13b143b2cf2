package boltfile

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// ErrLocked says another process holds the file's lock.
var ErrLocked = errors.New("another process holds the file")

// Lock takes the lock bbolt takes on a file (flock: exclusive for a writer,
// shared for readers), waiting up to timeout, so a check never reads a file
// another process is writing. release must be called before bbolt opens the
// file: flocks of two opens conflict even within one process. A missing
// file needs no lock.
func Lock(path string, exclusive bool, timeout time.Duration) (release func(), err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, ErrLocked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

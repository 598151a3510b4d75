//go:build unix

package store

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
}

// openAppend opens path for appending (and reading its tail), creating
// it, without following a symbolic link.
func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
}

// lock takes the exclusive lock, waiting for another process to release
// it. flock locks belong to the open file, so they also exclude another
// open of the file in this process.
func (l *storeLock) lock() error {
	for {
		err := unix.Flock(int(l.f.Fd()), unix.LOCK_EX)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: lock %s: %w", l.f.Name(), err)
		}
		return nil
	}
}

func (l *storeLock) unlock() { unix.Flock(int(l.f.Fd()), unix.LOCK_UN) }

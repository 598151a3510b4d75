//go:build !unix

package store

import (
	"errors"
	"os"
)

func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
}

// lock is not available: the shared store needs flock.
func (l *storeLock) lock() error {
	return errors.New("store: sharing a store between processes needs a unix system (flock)")
}

func (l *storeLock) unlock() {}

package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// lockFile is the store's lock: every process that reads or extends the
// shared replay memory or the verification log holds it, exclusively, for
// the few file operations of one check.
const lockFile = "lock"

// lockHeader is the lock file's whole content. It names the layout of the
// shared files, so that a binary that does not know it refuses the store
// rather than misreading it.
const lockHeader = "elicense-verify store v1\n"

// ErrDamaged: a file of the store that the shared replay memory or the
// verification log depend on does not parse. The error's text says which
// file, what is wrong and how to recover; nothing is verified until then.
var ErrDamaged = errors.New("store: damaged store file")

// DamagedError describes a damaged store file.
type DamagedError struct {
	Path     string // the file
	Problem  string // what is wrong with it
	Recovery string // what the operator does about it
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("store: %s is damaged (%s); nothing is verified until it is repaired: %s", e.Path, e.Problem, e.Recovery)
}

// Is makes errors.Is(err, ErrDamaged) hold.
func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// parseLock checks the lock file's content: empty (just created) or
// exactly lockHeader.
func parseLock(data []byte) error {
	switch {
	case len(data) == 0, bytes.Equal(data, []byte(lockHeader)):
		return nil
	case len(data) > 256:
		return fmt.Errorf("%d bytes, expected %d", len(data), len(lockHeader))
	}
	return fmt.Errorf("content %q, expected %q", data, lockHeader)
}

// storeLock is an open lock file.
type storeLock struct {
	f *os.File
}

// openLock opens (creating it) the lock file of dir and checks it.
func openLock(dir string) (*storeLock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := openNoFollow(path)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
			return nil, &DamagedError{Path: path, Problem: "not a regular file (" + fi.Mode().Type().String() + ")",
				Recovery: "stop every elicense-verify using this store, then remove " + path + " (it holds no data)"}
		}
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	l := &storeLock{f: f}
	if err := l.lock(); err != nil {
		f.Close()
		return nil, err
	}
	defer l.unlock()
	if err := l.check(path); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// check validates the locked file and writes its header when it is new.
func (l *storeLock) check(path string) error {
	fi, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("store: lock: %w", err)
	}
	recovery := "stop every elicense-verify using this store, then delete " + path + " (it holds no data)"
	if !fi.Mode().IsRegular() {
		return &DamagedError{Path: path, Problem: "not a regular file", Recovery: recovery}
	}
	data, err := io.ReadAll(io.LimitReader(io.NewSectionReader(l.f, 0, 1<<10), 1<<10))
	if err != nil {
		return fmt.Errorf("store: lock: %w", err)
	}
	if err := parseLock(data); err != nil {
		return &DamagedError{Path: path, Problem: err.Error(), Recovery: recovery}
	}
	if len(data) == 0 {
		if _, err := l.f.WriteAt([]byte(lockHeader), 0); err != nil {
			return fmt.Errorf("store: lock: %w", err)
		}
	}
	return nil
}

func (l *storeLock) close() error { return l.f.Close() }

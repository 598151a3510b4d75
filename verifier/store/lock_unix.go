//go:build unix

package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// syncLockFile serialises syncs of one store across processes, so the
// high-water file and the cache move forward together (two overlapping
// syncs could otherwise write an older cache after a newer one).
const syncLockFile = "sync.lock"

// trustLockFile serialises changes to the pinned roots (lockTrust).
const trustLockFile = "trust.lock"

// lockSync takes the store's sync lock, waiting for another process's sync
// to end or ctx to be done. The lock dies with the process.
func (s *Store) lockSync(ctx context.Context) (unlock func(), err error) {
	return s.flock(ctx, syncLockFile, "waiting for another sync of this store")
}

// lockTrust takes the lock that serialises changes to the pinned roots
// (roots.pem, tsaroots.pem) across processes: each change reads the file,
// adds or removes a certificate and replaces it, and two overlapping
// changes would otherwise lose one.
func (s *Store) lockTrust(ctx context.Context) (unlock func(), err error) {
	return s.flock(ctx, trustLockFile, "waiting for another change of this store's pinned roots")
}

// flock takes an exclusive flock on the store file name, waiting for
// another holder to release it or ctx to be done; waiting says what the
// wait was for, in the error when ctx ends it.
func (s *Store) flock(ctx context.Context, name, waiting string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			f.Close()
			return nil, fmt.Errorf("store: %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("store: %s: %w", waiting, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

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

// lockSync takes the store's sync lock, waiting for another process's sync
// to end or ctx to be done. The lock dies with the process.
func (s *Store) lockSync(ctx context.Context) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.dir, syncLockFile), os.O_RDWR|os.O_CREATE, 0o600)
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
			return nil, fmt.Errorf("store: sync lock: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("store: waiting for another sync of this store: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

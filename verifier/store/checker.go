package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"elicense/certs/qr"
	"elicense/verifier"
	"elicense/verifier/vlog"
)

// logFile is the verification log in the store directory.
const logFile = "verifications.jsonl"

// CheckerOptions configure a Checker.
type CheckerOptions struct {
	// Counter is the counter identifier recorded in the verification log.
	Counter string
	// ReplayWindow is the verifier's replay window (its MaxAge plus twice
	// its ClockSkew), only for the recovery message of a damaged replay
	// memory; 0: the verifier's default.
	ReplayWindow time.Duration
	// Logf, if set, is told when a write that a crash interrupted (a torn
	// replay record or log line, whose check never returned) is cut off.
	Logf func(format string, args ...any)
}

// Checker verifies QR texts with one verifier and records each check in
// the store's shared replay memory and verification log, which every
// process using the store (check, scan, image, serve) shares: a
// presentation accepted by any of them is REPLAYED in all the others
// inside its window, and the log's hash chain follows every process's
// records in the order they were made.
//
// Each Check holds the store's file lock for its critical section: read
// what other processes added to the replay memory since this one last
// looked, verify, append the replay record and the log record. A Checker
// is safe for concurrent use; checks run one at a time.
type Checker struct {
	mu      sync.Mutex
	v       *verifier.Verifier
	lock    *storeLock
	replay  *replayLog
	log     *vlog.Log
	queue   queue
	counter string
}

// NewChecker opens the store's shared replay memory and verification log
// for checks by v. A damaged lock file or replay memory is refused with a
// *DamagedError; a log whose chain is broken with vlog.ErrTampered.
func (s *Store) NewChecker(v *verifier.Verifier, opts CheckerOptions) (*Checker, error) {
	if opts.ReplayWindow <= 0 {
		opts.ReplayWindow = qr.DefaultMaxAge + 2*qr.DefaultClockSkew
	}
	lock, err := openLock(s.dir)
	if err != nil {
		return nil, err
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	c := &Checker{v: v, lock: lock, counter: opts.Counter, queue: s.queue(),
		replay: &replayLog{path: filepath.Join(s.dir, replayFile), window: opts.ReplayWindow, logf: opts.Logf}}
	err = c.locked(func() error {
		if err := c.replay.catchUp(v, time.Now()); err != nil {
			return err
		}
		// Every append to the log happens under the store lock, so an
		// unfinished last line can only be a crash's.
		c.log, err = vlog.OpenRepairing(filepath.Join(s.dir, logFile), opts.Logf)
		return err
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// locked runs fn holding the process's mutex and the store's file lock.
func (c *Checker) locked(fn func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.lock.lock(); err != nil {
		return err
	}
	defer c.lock.unlock()
	return fn()
}

// Check verifies text at now and records it: in the replay memory, the
// verification log and, when the token parsed and the trust bundle names
// a receipt key, the receipt queue (UploadReceipts). An error means the shared
// files could not be read or written: the verdict is then not to be
// relied on (when reading them failed, nothing was verified and the
// verdict is the zero Verdict).
func (c *Checker) Check(text string, now time.Time) (verifier.Verdict, error) {
	var vd verifier.Verdict
	err := c.locked(func() error {
		if err := c.replay.catchUp(c.v, now); err != nil {
			return err
		}
		vd = c.v.Verify(text, now)
		if vd.Seen != nil && vd.Code != verifier.Replayed {
			if err := c.replay.add(*vd.Seen, now); err != nil {
				return err
			}
		}
		r, ok, err := receiptOf(c.v, vd, now)
		if err != nil {
			return err
		}
		if ok {
			if err := c.queue.add(r); err != nil {
				return err
			}
		}
		return c.log.Append(vlog.FromVerdict(vd, now, c.counter))
	})
	return vd, err
}

// Close releases the files.
func (c *Checker) Close() error {
	var first error
	for _, cl := range []interface{ close() error }{c.replay, c.lock} {
		if cl == nil {
			continue
		}
		if err := cl.close(); err != nil && first == nil {
			first = err
		}
	}
	if c.log != nil {
		if err := c.log.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// VerifyLog checks the hash chain of the store's verification log, copying
// each good line to w when w is not nil. It reads the records written
// before it started, so that a check being logged by another process at
// the same moment is not mistaken for damage.
func (s *Store) VerifyLog(w io.Writer) (n uint64, last string, err error) {
	lock, err := openLock(s.dir)
	if err != nil {
		return 0, "", err
	}
	defer lock.close()
	if err := lock.lock(); err != nil {
		return 0, "", err
	}
	// Under the lock an unfinished last line is a crash's, not tampering.
	if err := vlog.RepairTail(filepath.Join(s.dir, logFile), nil); err != nil {
		lock.unlock()
		return 0, "", err
	}
	f, err := os.Open(filepath.Join(s.dir, logFile))
	var fi os.FileInfo
	if err == nil {
		if fi, err = f.Stat(); err != nil {
			f.Close()
		}
	}
	lock.unlock()
	if err != nil {
		return 0, "", fmt.Errorf("store: verification log: %w", err)
	}
	defer f.Close()
	return vlog.Verify(io.NewSectionReader(f, 0, fi.Size()), w)
}

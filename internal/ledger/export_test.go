package ledger

import (
	"context"

	"elicense/internal/ledger/tlog"
)

// Hooks for the external tests (package ledger_test), which need a
// backend package that imports this one.

func (l *Log[T]) LastSigned() tlog.Checkpoint { return l.lastSigned }

func (l *Log[T]) SignCheckpoint(ctx context.Context, size uint64, root tlog.Hash) (*SignedCheckpoint, error) {
	return l.signCheckpoint(ctx, size, root)
}

// Queued is how many appends wait for the sequencer.
func (l *Log[T]) Queued() int { return len(l.reqs) }

package static

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RunOptions configure Run.
type RunOptions struct {
	// Every is how often Run looks for a change (a new checkpoint, a
	// list's new version, a new bundle); zero means a second.
	Every time.Duration
	// Refresh is the longest between two publications even without a
	// change seen, so that lists and the bundle re-signed for freshness
	// reach the directory; zero means 10 minutes.
	Refresh time.Duration
	// OnError is told of each failed Publish (the next tick retries).
	OnError func(error)
	// Publishes, if set, is asked before each publication: Run writes
	// only while it reports true, so that of several issuer replicas
	// only the one leading the ledger writes a shared directory.
	Publishes func() bool
}

// Run publishes once, then again whenever something changed, until ctx
// ends.
func (w *Writer) Run(ctx context.Context, o RunOptions) {
	if o.Every <= 0 {
		o.Every = time.Second
	}
	if o.Refresh <= 0 {
		o.Refresh = 10 * time.Minute
	}
	tick := time.NewTicker(o.Every)
	defer tick.Stop()
	last, at := "", time.Time{}
	for {
		if o.Publishes != nil && !o.Publishes() {
			last = "" // publish at once on taking over
		} else if s := w.state(); s != last || time.Since(at) >= o.Refresh {
			if _, err := w.Publish(ctx); err != nil {
				if o.OnError != nil {
					o.OnError(err)
				}
			} else {
				last, at = s, time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// state sums up what a publication depends on, to tell a change.
func (w *Writer) state() string {
	var b strings.Builder
	_, etag := w.o.Publisher.TrustBundle()
	cp := w.o.Checkpoint()
	fmt.Fprintf(&b, "%s %d", etag, cp.Size)
	for _, l := range w.o.Status.Lists() {
		fmt.Fprintf(&b, " %s:%d", l.ID, l.Version)
	}
	return b.String()
}

//go:build !unix

package store

import "context"

// lockSync is a no-op where flock is not available: syncs of one store
// must then not overlap (run one syncing process per store).
func (s *Store) lockSync(context.Context) (func(), error) { return func() {}, nil }

// lockTrust is a no-op where flock is not available: the pinned roots
// must then be changed by one process at a time.
func (s *Store) lockTrust(context.Context) (func(), error) { return func() {}, nil }

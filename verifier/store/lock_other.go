//go:build !unix

package store

import "context"

// lockSync is a no-op where flock is not available: syncs of one store
// must then not overlap (run one syncing process per store).
func (s *Store) lockSync(context.Context) (func(), error) { return func() {}, nil }

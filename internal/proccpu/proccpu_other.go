//go:build !unix

package proccpu

import "time"

// Used is 0 where the process's CPU time is not available.
func Used() time.Duration { return 0 }

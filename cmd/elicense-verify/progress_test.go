package main

import (
	"strings"
	"testing"
)

// TestProgressBars draws a bar for a download, and takes one whose length
// was not announced (total -1, then the real length at the end) without
// failing. The bars throttle their drawing, so only the first is sure to
// show.
func TestProgressBars(t *testing.T) {
	var w strings.Builder
	f := progressBars(&w)
	f("status a", 300<<10, 600<<10)
	f("status a", 600<<10, 600<<10)
	f("status b", 100<<10, -1)
	f("status b", 400<<10, 400<<10)
	if !strings.Contains(w.String(), "status a") {
		t.Fatalf("no bar in %q", w.String())
	}
}

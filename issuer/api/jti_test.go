package api

import (
	"fmt"
	"testing"
	"time"
)

func TestJTIMemory(t *testing.T) {
	m := newJTIMemory(130*time.Second, 3)
	t0 := time.Unix(1_800_000_000, 0)
	steps := []struct {
		jti  string
		at   time.Duration
		want jtiResult
	}{
		{"a", 0, jtiFresh},
		{"a", time.Second, jtiReplay},
		{"b", 2 * time.Second, jtiFresh},
		{"c", 3 * time.Second, jtiFresh},
		{"d", 4 * time.Second, jtiFull},     // three live: refused, not forgotten
		{"a", 129 * time.Second, jtiReplay}, // still inside the window
		{"a", 130 * time.Second, jtiFresh},  // expired, taken again
		{"d", 131 * time.Second, jtiFull},   // a, b, c(3 s) … b expired at 132 s
		{"d", 133 * time.Second, jtiFresh},
		{"b", 134 * time.Second, jtiFresh}, // c expired at 133 s
		{"e", 135 * time.Second, jtiFull},
	}
	for i, s := range steps {
		if got := m.remember(s.jti, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d (%s at %v): got %d, want %d", i, s.jti, s.at, got, s.want)
		}
	}
}

func TestJTIMemoryBounded(t *testing.T) {
	m := newJTIMemory(time.Second, 1000)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 100000 {
		if got := m.remember(fmt.Sprint(i), t0.Add(time.Duration(i)*time.Millisecond)); got != jtiFresh {
			t.Fatalf("jti %d: %d", i, got)
		}
	}
	if len(m.seen) > 1001 || cap(m.queue) > 4096 {
		t.Errorf("memory grew: %d seen, queue cap %d", len(m.seen), cap(m.queue))
	}
}

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
		if got := m.remember("rp", s.jti, false, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d (%s at %v): got %d, want %d", i, s.jti, s.at, got, s.want)
		}
	}
}

func TestJTIMemoryBounded(t *testing.T) {
	m := newJTIMemory(time.Second, 1000)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 100000 {
		if got := m.remember("h#1", fmt.Sprint(i), i%2 == 0, t0.Add(time.Duration(i)*time.Millisecond)); got != jtiFresh {
			t.Fatalf("jti %d: %d", i, got)
		}
	}
	if len(m.seen) > 1001 || cap(m.queue) > 4096 || m.per["h#1"] > 500 {
		t.Errorf("memory grew: %d seen, queue cap %d", len(m.seen), cap(m.queue))
	}
}

// TestJTIMemoryPerHolder: one holder's copy filling its share is refused
// alone; another holder and relying parties go on; its share frees as its
// proofs expire.
func TestJTIMemoryPerHolder(t *testing.T) {
	m := newJTIMemory(130*time.Second, 1<<20)
	t0 := time.Unix(1_800_000_000, 0)
	for i := range maxJTIsPerHolder {
		if got := m.remember("L#greedy", fmt.Sprint("g", i), true, t0); got != jtiFresh {
			t.Fatalf("proof %d of the greedy holder: %d", i, got)
		}
	}
	for _, c := range []struct {
		sub    string
		capped bool
		want   jtiResult
	}{{"L#greedy", true, jtiFull}, {"L#other", true, jtiFresh}, {"sh-rp", false, jtiFresh}} {
		if got := m.remember(c.sub, "x-"+c.sub, c.capped, t0.Add(time.Second)); got != c.want {
			t.Errorf("%s: %d, want %d", c.sub, got, c.want)
		}
	}
	if got := m.remember("L#greedy", "later", true, t0.Add(131*time.Second)); got != jtiFresh {
		t.Errorf("the greedy holder after its proofs expired: %d", got)
	}
	if m.per["L#greedy"] != 1 {
		t.Errorf("live count %d, want 1", m.per["L#greedy"])
	}
}

package runtimecfg

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestApply(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(procs)
	gc := debug.SetGCPercent(100)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetGCPercent(gc) })

	env := func(set ...string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			for _, s := range set {
				if s == k {
					return "1", true
				}
			}
			return "", false
		}
	}
	for _, c := range []struct {
		name     string
		s        Settings
		wantGC   int
		wantProc int
	}{
		{"defaults", Settings{MinHeap: -1, LookupEnv: env()}, DefaultGCPercent, ProcsPerCPU * def},
		{"explicit", Settings{GCPercent: 250, MinHeap: -1, Procs: 3}, 250, 3},
		{"environment wins", Settings{GCPercent: 250, Procs: 3, LookupEnv: env("GOGC", "GOMAXPROCS")}, -1, procs},
	} {
		runtime.GOMAXPROCS(procs)
		debug.SetGCPercent(100)
		a := Apply(c.s)
		if a.GCPercent != c.wantGC || a.GOMAXPROCS != c.wantProc || runtime.GOMAXPROCS(0) != c.wantProc {
			t.Errorf("%s: applied %+v (GOMAXPROCS now %d), want GC %d and %d procs", c.name, a, runtime.GOMAXPROCS(0), c.wantGC, c.wantProc)
		}
		want := c.wantGC
		if want < 0 {
			want = 100 // untouched
		}
		if got := debug.SetGCPercent(100); got != want {
			t.Errorf("%s: GC percent %d, want %d", c.name, got, want)
		}
	}
}

func readUint(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var sink []byte

// cyclesFor counts the collections while 256 MiB of garbage is made.
func cyclesFor() uint64 {
	before := readUint("/gc/cycles/total:gc-cycles")
	for range 256 << 20 / (32 << 10) {
		sink = make([]byte, 32<<10)
	}
	return readUint("/gc/cycles/total:gc-cycles") - before
}

// With a floor, a small live heap is collected about once per floor's
// worth of garbage, not at every quarter megabyte the target allows.
func TestMinHeap(t *testing.T) {
	gc, procs := debug.SetGCPercent(100), runtime.GOMAXPROCS(0)
	t.Cleanup(func() { Apply(Settings{GCPercent: gc, MinHeap: -1, Procs: procs}) })

	Apply(Settings{GCPercent: 100, MinHeap: -1, Procs: procs})
	without := cyclesFor()

	// The floor is set well above what is live (the race detector's
	// runs keep tens of megabytes alive).
	runtime.GC()
	Apply(Settings{GCPercent: 100, MinHeap: 4*int64(readUint(liveMetric)) + 128<<20, Procs: procs})
	runtime.GC() // the finalizer re-tunes after every cycle
	for deadline := time.Now().Add(5 * time.Second); readUint("/gc/gogc:percent") <= 100; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("GC percent still %d after a cycle (live heap %d bytes)", readUint("/gc/gogc:percent"), readUint(liveMetric))
		}
	}
	with := cyclesFor()
	if with > 8 || with*2 > without {
		t.Errorf("%d collections for 256 MiB of garbage with the floor, %d without", with, without)
	}
	t.Logf("collections for 256 MiB of garbage: %d with the floor, %d without", with, without)

	Apply(Settings{GCPercent: 100, MinHeap: -1, Procs: procs})
	if p := readUint("/gc/gogc:percent"); p != 100 {
		t.Errorf("GC percent %d after turning the floor off", p)
	}
}

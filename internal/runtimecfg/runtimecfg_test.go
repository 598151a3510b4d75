package runtimecfg

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
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
		{"defaults", Settings{LookupEnv: env()}, DefaultGCPercent, ProcsPerCPU * procs},
		{"explicit", Settings{GCPercent: 250, Procs: 3}, 250, 3},
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

package runtimecfg

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
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
// worth of garbage, not at every few megabytes the target allows.
func TestMinHeap(t *testing.T) {
	gc, procs := debug.SetGCPercent(100), runtime.GOMAXPROCS(0)
	t.Cleanup(func() { Apply(Settings{GCPercent: gc, MinHeap: -1, Procs: procs}) })

	Apply(Settings{GCPercent: 100, MinHeap: -1, Procs: procs})
	without := cyclesFor()

	// The floor is set well above what is live (the race detector's
	// runs keep tens of megabytes alive).
	runtime.GC()
	floor := 4*int64(readUint("/gc/heap/live:bytes")) + 128<<20
	Apply(Settings{GCPercent: 100, MinHeap: floor, Procs: procs})
	runtime.GC()
	if goal := readUint("/gc/heap/goal:bytes"); goal < uint64(floor) {
		t.Errorf("heap goal %d bytes with a floor of %d", goal, floor)
	}
	with := cyclesFor()
	if with > 8 || with*2 > without {
		t.Errorf("%d collections for 256 MiB of garbage with the floor, %d without", with, without)
	}
	t.Logf("collections for 256 MiB of garbage: %d with the floor, %d without", with, without)

	Apply(Settings{GCPercent: 100, MinHeap: -1, Procs: procs})
	if p := readUint("/gc/gogc:percent"); p != 100 || ballast.b != nil {
		t.Errorf("GC percent %d, ballast of %d bytes after turning the floor off", p, len(ballast.b))
	}
}

// The ballast, made at the start of a process as serve makes it, costs
// address space, not memory. (Made later, from memory the heap has used
// before, it is zeroed and so resident.) The check runs in a fresh
// process: this test binary, run again for this test alone.
func TestBallastNotResident(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	if os.Getenv("RUNTIMECFG_BALLAST_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBallastNotResident$", "-test.v")
		cmd.Env = append(os.Environ(), "RUNTIMECFG_BALLAST_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "resident memory grew") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		t.Logf("%s", bytes.TrimSpace(out))
		return
	}
	rss := func() int64 {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		_, v, _ := strings.Cut(string(b), "VmRSS:")
		kb, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return kb << 10
	}
	before := rss()
	Apply(Settings{GCPercent: 100, MinHeap: 2 << 30}) // a 1 GiB ballast
	if len(ballast.b) != 1<<30 {
		t.Fatalf("ballast of %d bytes, want 1 GiB", len(ballast.b))
	}
	grew := rss() - before
	t.Logf("resident memory grew by %d MiB with a 1 GiB ballast", grew>>20)
	if grew > 64<<20 {
		t.Errorf("the ballast is resident")
	}
}

// Package runtimecfg applies the Go runtime settings the issuer server
// runs with (`elicense serve`), so that its benchmarks measure the same
// configuration.
//
// Three settings differ from Go's defaults, each measured with the
// issuance benchmarks on 2 cores:
//
//   - The collector's target is 400 % rather than 100 %: an issuance
//     allocates about 40 KB against a small live heap, and at 100 %
//     collection took a fifth of the CPU.
//   - The heap may grow to 64 MiB before a collection whatever the live
//     heap (Settings.MinHeap): the issuer's live heap is a few megabytes,
//     so even at 400 % it collected 30 times a second, each cycle costing
//     about 4 ms of CPU on its fixed work (stacks, globals); durable
//     issuances took ≈ 6 % less CPU with the floor. It is kept by
//     raising the target after each cycle while 64 MiB is more than the
//     target would allow (GOGC alone cannot say "at least"). A running
//     server holds more (status lists, caches: its heap reached 84 MB in
//     use under load), where 400 % alone allows more than the floor; the
//     floor matters for a small heap, as at a fresh start or in the
//     library benchmark.
//   - GOMAXPROCS is twice the CPUs Go would use. The ledger's writer
//     blocks in fdatasync twice a commit; with one P per core, on
//     returning it waits for a P behind the goroutines building the next
//     batch, and the whole pipeline waits with it. With spare Ps it runs
//     at once and the kernel shares the cores: durable issuances per
//     second went from ≈ 8,700 to ≈ 10,400 through the library and from
//     ≈ 5,000 to ≈ 6,400 over HTTP, with less CPU per issuance.
//
// The collector's settings are left alone when GOGC is set in the
// environment, and GOMAXPROCS when GOMAXPROCS is.
package runtimecfg

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

const (
	// DefaultGCPercent is the collector's target, as GOGC.
	DefaultGCPercent = 400
	// DefaultMinHeap is the heap, in bytes, below which the collector
	// does not run.
	DefaultMinHeap = 64 << 20
	// ProcsPerCPU is GOMAXPROCS over the CPUs Go would use by default.
	ProcsPerCPU = 2
)

// Settings are what Apply sets; zero values mean the defaults above.
type Settings struct {
	GCPercent int
	// MinHeap is the heap in bytes below which the collector does not
	// run; zero means DefaultMinHeap, negative means no floor.
	MinHeap int64
	// Procs is GOMAXPROCS; zero means ProcsPerCPU times Go's default.
	Procs int
	// LookupEnv reads the environment; nil means none is set (tests).
	LookupEnv func(string) (string, bool)
}

// Applied is what is in force after Apply.
type Applied struct {
	GCPercent  int   // -1 when GOGC was set in the environment
	MinHeap    int64 // 0 when none
	GOMAXPROCS int
}

// Apply sets the collector's target and GOMAXPROCS, each unless the
// environment sets it, and returns what is in force.
func Apply(s Settings) Applied {
	env := s.LookupEnv
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	a := Applied{GCPercent: -1}
	if _, set := env("GOGC"); !set {
		if s.GCPercent <= 0 {
			s.GCPercent = DefaultGCPercent
		}
		switch {
		case s.MinHeap == 0:
			s.MinHeap = DefaultMinHeap
		case s.MinHeap < 0:
			s.MinHeap = 0
		}
		a.GCPercent, a.MinHeap = s.GCPercent, s.MinHeap
		floor.base.Store(int64(s.GCPercent))
		floor.min.Store(s.MinHeap)
		debug.SetGCPercent(s.GCPercent)
		floor.set.Store(int64(s.GCPercent))
		if s.MinHeap > 0 {
			floor.once.Do(arm)
			retune()
		}
	}
	if _, set := env("GOMAXPROCS"); !set {
		if s.Procs <= 0 {
			// From Go's default (the CPUs the process may use), not
			// from the current value, so that applying twice is
			// applying once.
			runtime.SetDefaultGOMAXPROCS()
			s.Procs = ProcsPerCPU * runtime.GOMAXPROCS(0)
		}
		runtime.GOMAXPROCS(s.Procs)
	}
	a.GOMAXPROCS = runtime.GOMAXPROCS(0)
	return a
}

// floor keeps the heap from being collected below a minimum size: after
// each collection (a finalizer runs) it sets the target to the larger of
// base and what lets the heap reach min.
var floor struct {
	once      sync.Once
	base, min atomic.Int64 // percent; bytes (0: no floor)
	set       atomic.Int64 // the percent last set
}

// sentinel is a heap object whose finalizer runs after a collection.
// It holds a pointer and is larger than 16 bytes: finalizers of objects
// from the tiny allocator may never run.
type sentinel struct {
	_ *int
	_ [24]byte
}

func arm() {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		retune()
		arm()
	})
}

var liveMetric = "/gc/heap/live:bytes"

// runtimeHeapMinimum is the Go runtime's own floor (defaultHeapMinimum,
// 4 MiB), which it scales by the target percent over 100: below it the
// target sets the goal through this floor, not through the live heap.
const runtimeHeapMinimum = 4 << 20

func retune() {
	base, minHeap := floor.base.Load(), floor.min.Load()
	pct := base
	if minHeap > 0 {
		s := []metrics.Sample{{Name: liveMetric}}
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			if live := int64(s[0].Value.Uint64()); live > 0 {
				pct = max(base, min(minHeap*100/live-100, minHeap*100/runtimeHeapMinimum))
			}
		}
	}
	// Setting the target takes the heap lock; do it only on a change
	// worth having (a tenth).
	if old := floor.set.Load(); pct != old && (pct < old || pct > old+old/10) {
		debug.SetGCPercent(int(pct))
		floor.set.Store(pct)
	}
}

// Package runtimecfg applies the Go runtime settings the issuer server
// runs with (`elicense serve`), so that its benchmarks measure the same
// configuration.
//
// Three settings differ from Go's defaults, each measured with the
// issuance benchmarks (docs/performance.md):
//
//   - The collector's target is 400 % rather than 100 %: an issuance
//     allocates tens of kilobytes against a small live heap, and at 100 %
//     collection took a large share of the CPU.
//   - The heap may grow to 64 MiB before a collection however small the
//     live heap (Settings.MinHeap). With a live heap of a few megabytes
//     the collector otherwise runs many times a second, each cycle mostly
//     fixed work (stacks, globals).
//     GOGC cannot say "at least", so the floor is a ballast: a
//     pointer-free block of MinHeap / (1 + GCPercent/100) bytes (12.8 MiB
//     at the defaults) that counts toward the live heap the target is a
//     percentage of, but is never scanned or written, so its pages are
//     never resident when it is made at the start of a process, from
//     fresh memory (serve applies its settings before it opens
//     anything; made later from memory the heap has used, Go zeroes it). The heap's goal is thus (live + ballast) × 5: at
//     least 64 MiB, and 64 MiB more than five times the live heap.
//     Re-tuning the percent after each cycle from a finalizer instead
//     lags a cycle, so a heap that grows between two cycles gets a goal
//     many times its size.
//   - GOMAXPROCS is twice the CPUs Go would use. The ledger's writer
//     blocks in fdatasync twice a commit; with one P per core, on
//     returning it waits for a P behind the goroutines building the next
//     batch, and the whole pipeline waits with it. With spare Ps it runs
//     at once and the kernel shares the cores, with less CPU per
//     issuance (fewer hand-offs). Setting
//     it turns off Go's own updates of GOMAXPROCS when a container's CPU
//     limit changes; restart the server after changing the limit.
//
// The collector's settings are left alone when GOGC is set in the
// environment, and GOMAXPROCS when GOMAXPROCS is.
package runtimecfg

import (
	"runtime"
	"runtime/debug"
	"sync"
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

// Apply sets the collector's target and floor and GOMAXPROCS, each
// unless the environment sets it, and returns what is in force. Applying
// the same settings again changes nothing.
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
		debug.SetGCPercent(s.GCPercent)
		setBallast(s.MinHeap * 100 / int64(100+s.GCPercent))
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

// ballast is the heap floor (see the package comment). Memory fresh from
// the operating system is already zero, so making it writes none of it
// (TestBallastNotResident).
var ballast struct {
	sync.Mutex
	b []byte
}

func setBallast(n int64) {
	ballast.Lock()
	defer ballast.Unlock()
	if int64(len(ballast.b)) == n {
		return
	}
	ballast.b = nil
	if n > 0 {
		ballast.b = make([]byte, n)
	}
}

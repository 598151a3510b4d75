// Package runtimecfg applies the Go runtime settings the issuer server
// runs with (`elicense serve`), so that its benchmarks measure the same
// configuration.
//
// Two settings differ from Go's defaults, each measured with the
// issuance benchmarks on 2 cores:
//
//   - The collector's target is 400 % rather than 100 %: an issuance
//     allocates about 50 KB against a small live heap, and at 100 %
//     collection took a fifth of the CPU.
//   - GOMAXPROCS is twice the CPUs Go would use. The ledger's writer
//     blocks in fdatasync twice a commit; with one P per core, on
//     returning it waits for a P behind the goroutines building the next
//     batch, and the whole pipeline waits with it. With spare Ps it runs
//     at once and the kernel shares the cores: durable issuances per
//     second went from ≈ 8,700 to ≈ 10,400 through the library and from
//     ≈ 5,000 to ≈ 6,400 over HTTP, with less CPU per issuance.
//
// Either is left alone when set in the environment (GOGC, GOMAXPROCS).
package runtimecfg

import (
	"runtime"
	"runtime/debug"
)

const (
	// DefaultGCPercent is the collector's target, as GOGC.
	DefaultGCPercent = 400
	// ProcsPerCPU is GOMAXPROCS over the CPUs Go would use by default.
	ProcsPerCPU = 2
)

// Settings are what Apply sets; zero values mean the defaults above.
type Settings struct {
	GCPercent int
	// Procs is GOMAXPROCS; zero means ProcsPerCPU times Go's default.
	Procs int
	// LookupEnv reads the environment; nil means none is set (tests).
	LookupEnv func(string) (string, bool)
}

// Applied is what is in force after Apply.
type Applied struct {
	GCPercent  int // -1 when GOGC was set in the environment
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
		debug.SetGCPercent(s.GCPercent)
		a.GCPercent = s.GCPercent
	}
	if _, set := env("GOMAXPROCS"); !set {
		if s.Procs <= 0 {
			s.Procs = ProcsPerCPU * runtime.GOMAXPROCS(0)
		}
		runtime.GOMAXPROCS(s.Procs)
	}
	a.GOMAXPROCS = runtime.GOMAXPROCS(0)
	return a
}

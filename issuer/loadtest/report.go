package loadtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// ReportMix writes r as text: the totals, a table of the kinds (rate,
// p50/p99/max latency, errors, skips), the conditional fetches answered
// 304, the server's memory over the run, and the first error of each
// kind that had any.
func ReportMix(w io.Writer, r MixResult) {
	fmt.Fprintf(w, "mixed load: %.1f s, %d clients, %d requests (%.1f/s), %d errors\n", r.Seconds, r.Clients, r.Requests, r.Rate, r.Errors)
	fmt.Fprintf(w, "%-14s %6s %9s %9s %8s %8s %8s %7s %8s\n", "kind", "weight", "count", "per s", "p50 ms", "p99 ms", "max ms", "errors", "skipped")
	for _, k := range r.Kinds {
		fmt.Fprintf(w, "%-14s %6d %9d %9.1f %8.2f %8.2f %8.2f %7d %8d\n", k.Name, k.Weight, k.Count, k.Rate, k.P50, k.P99, k.Max, k.Errors, k.Skipped)
	}
	if len(r.NotModified) > 0 {
		var parts []string
		for _, name := range slices.Sorted(maps.Keys(r.NotModified)) {
			c := r.NotModified[name]
			parts = append(parts, fmt.Sprintf("%s %d of %d", name, c.NotModified, c.Requests))
		}
		fmt.Fprintf(w, "answered 304 Not Modified (the others: the document had changed): %s\n", strings.Join(parts, ", "))
	}
	reportMemory(w, r.Memory)
	for _, k := range r.Kinds {
		if k.Errors > 0 {
			fmt.Fprintf(w, "errors: %s ×%d, the first: %s\n", k.Name, k.Errors, k.FirstErr)
		}
	}
}

// seriesLines is about how many samples the text report shows.
const seriesLines = 12

func reportMemory(w io.Writer, m Memory) {
	if len(m.Samples) == 0 {
		if m.FirstErr != "" {
			fmt.Fprintf(w, "server memory: not read (%s)\n", m.FirstErr)
		}
		return
	}
	fmt.Fprintf(w, "server memory (%s; Go heap in use; the collector's goal, which follows the live heap):\n", metricRSS)
	step := max(1, (len(m.Samples)+seriesLines-1)/seriesLines)
	for i, s := range m.Samples {
		if i%step == 0 || i == len(m.Samples)-1 {
			fmt.Fprintf(w, "  %7.0f s  RSS %7.1f MiB  heap %7.1f MiB  GC goal %7.1f MiB\n", s.At, mib(s.RSS), mib(s.Heap), mib(s.Goal))
		}
	}
	fmt.Fprintf(w, "RSS start %.1f MiB, end %.1f MiB, max %.1f MiB: growth %+.1f MiB (%+.1f MiB over the second half)\n",
		mib(m.Start), mib(m.End), mib(m.Max), float64(m.Growth)/(1<<20), float64(m.Late)/(1<<20))
	if m.Failures > 0 {
		fmt.Fprintf(w, "server memory: %d reads failed, the first: %s\n", m.Failures, m.FirstErr)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

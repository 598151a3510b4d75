package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for _, ns := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1e6, 123456789, 1 << 40, math.MaxInt64} {
		i := bucket(ns)
		if i < prev {
			t.Fatalf("bucket(%d) = %d, below the bucket of a smaller value (%d)", ns, i, prev)
		}
		prev = i
		up := uint64(upper(i))
		if up < ns {
			t.Errorf("bucket(%d) = %d, whose upper edge %d is below it", ns, i, up)
		}
		if ns >= 128 && float64(up-ns) > float64(ns)/subBuckets {
			t.Errorf("bucket(%d): upper edge %d is more than 1/%d above", ns, up, subBuckets)
		}
		if i > 0 && uint64(upper(i-1)) >= ns {
			t.Errorf("bucket(%d) = %d, but bucket %d already reaches %d", ns, i, i-1, upper(i-1))
		}
	}
}

func TestQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		gen  func() time.Duration
		n    int
	}{
		{"uniform 0-50 ms", func() time.Duration { return time.Duration(rng.Int64N(int64(50 * time.Millisecond))) }, 100000},
		{"exponential, mean 2 ms", func() time.Duration { return time.Duration(rng.ExpFloat64() * 2e6) }, 50000},
		{"one sample", func() time.Duration { return 1234567 }, 1},
		{"a few", func() time.Duration { return time.Duration(rng.IntN(5)+1) * time.Millisecond }, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			var h Hist
			all := make([]time.Duration, c.n)
			for i := range all {
				all[i] = c.gen()
				h.Add(all[i])
			}
			slices.Sort(all)
			if h.Count() != uint64(c.n) || h.Max() != all[c.n-1] {
				t.Fatalf("count %d max %v, want %d %v", h.Count(), h.Max(), c.n, all[c.n-1])
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 1} {
				exact := all[max(0, int(math.Ceil(q*float64(c.n)))-1)]
				got := h.Quantile(q)
				if got < exact || float64(got-exact) > float64(exact)/subBuckets+1 {
					t.Errorf("p%g = %v, exact %v", q*100, got, exact)
				}
			}
		})
	}
	var empty Hist
	if empty.Quantile(0.5) != 0 || empty.Max() != 0 {
		t.Fatal("an empty histogram reports latencies")
	}
	var a, b Hist
	a.Add(time.Millisecond)
	b.Add(time.Second)
	a.Merge(&b)
	if a.Count() != 2 || a.Max() != time.Second || a.Quantile(0.5) < time.Millisecond || a.Quantile(0.5) > 1016*time.Microsecond {
		t.Fatalf("merged: count %d max %v p50 %v", a.Count(), a.Max(), a.Quantile(0.5))
	}
}

func TestWeights(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    map[string]int
		wantErr string
	}{
		{"", map[string]int{}, ""},
		{"verify=30, issue=5,claim=0", map[string]int{"verify": 30, "issue": 5, "claim": 0}, ""},
		{DefaultWeights, nil, ""},
		{"verify", nil, "want name=N"},
		{"verify=-1", nil, "want name=N"},
		{"verify=x", nil, "want name=N"},
		{"=3", nil, "want name=N"},
		{"a=1,a=2", nil, "a given twice"},
	} {
		got, err := Weights(c.in)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Weights(%q): %v, want an error with %q", c.in, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("Weights(%q): %v", c.in, err)
		case c.want != nil && fmt.Sprint(got) != fmt.Sprint(c.want):
			t.Errorf("Weights(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	d, _ := Weights(DefaultWeights)
	sum := 0
	for _, w := range d {
		sum += w
	}
	if sum != 100 || len(d) != 12 {
		t.Errorf("the default weights are %d kinds summing to %d, want 12 kinds per 100", len(d), sum)
	}
	kinds := []Kind{{Name: "a", Weight: 1}, {Name: "b", Weight: 2}}
	got, err := Reweigh(kinds, map[string]int{"b": 7})
	if err != nil || got[0].Weight != 1 || got[1].Weight != 7 || kinds[1].Weight != 2 {
		t.Errorf("Reweigh: %v %v (original %v)", got, err, kinds)
	}
	if _, err := Reweigh(kinds, map[string]int{"c": 1}); err == nil || !strings.Contains(err.Error(), `no kind "c" (kinds: a, b)`) {
		t.Errorf("Reweigh of an unknown kind: %v", err)
	}
}

func TestPicker(t *testing.T) {
	kinds := []Kind{{Name: "a", Weight: 30}, {Name: "off", Weight: 0}, {Name: "b", Weight: 10}, {Name: "c", Weight: 60}}
	p, err := newPicker(kinds)
	if err != nil {
		t.Fatal(err)
	}
	// Every r maps to the kind whose share holds it.
	counts := make([]int, len(kinds))
	for r := range p.total {
		counts[p.pick(r)]++
	}
	if fmt.Sprint(counts) != "[30 0 10 60]" {
		t.Fatalf("picks over [0, total): %v", counts)
	}
	if _, err := newPicker([]Kind{{Name: "a"}}); err == nil {
		t.Error("all weights zero: no error")
	}
	if _, err := newPicker([]Kind{{Name: "a", Weight: -1}}); err == nil {
		t.Error("a negative weight: no error")
	}
}

// TestMix runs kinds that take known times and fail or skip in known
// ways, and checks what Mix measured of each.
func TestMix(t *testing.T) {
	var okN, failN, skipN atomic.Int64
	kinds := []Kind{
		{Name: "ok", Weight: 6, Do: func(context.Context) error { okN.Add(1); time.Sleep(time.Millisecond); return nil }},
		{Name: "fails", Weight: 3, Do: func(context.Context) error {
			return fmt.Errorf("failure %d", failN.Add(1))
		}},
		{Name: "skips", Weight: 1, Do: func(context.Context) error { skipN.Add(1); return ErrSkip }},
		{Name: "off", Weight: 0, Do: func(context.Context) error { t.Error("a kind of weight 0 ran"); return nil }},
	}
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1.048576e+08\ngo_memstats_heap_inuse_bytes 5.24288e+06\ngo_memstats_next_gc_bytes 8388608\n")
	}))
	defer metrics.Close()
	r, err := Mix(context.Background(), MixOptions{Kinds: kinds, Clients: 4, Duration: 300 * time.Millisecond,
		Metrics: metrics.URL, SampleEvery: 50 * time.Millisecond, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]KindResult{}
	for _, k := range r.Kinds {
		by[k.Name] = k
	}
	ok, fails, skips := by["ok"], by["fails"], by["skips"]
	if ok.Count == 0 || ok.Errors != 0 || ok.P50 < 1 || ok.Max < ok.P99 || ok.P99 < ok.P50 || uint64(okN.Load()) < ok.Count {
		t.Errorf("ok: %+v (ran %d)", ok, okN.Load())
	}
	if fails.Count != 0 || fails.Errors == 0 || !strings.HasPrefix(fails.FirstErr, "failure ") {
		t.Errorf("fails: %+v", fails)
	}
	if skips.Count != 0 || skips.Errors != 0 || skips.Skipped == 0 {
		t.Errorf("skips: %+v", skips)
	}
	if r.Requests != ok.Count || r.Errors != fails.Errors || r.Seconds < 0.3 || r.Rate <= 0 {
		t.Errorf("totals: %+v", r)
	}
	// The draws follow the weights: fails (3) about half as often as ok (6).
	if ratio := float64(fails.Errors) / float64(ok.Count+fails.Errors); ratio < 0.2 || ratio > 0.5 {
		t.Errorf("fails drawn %d times against ok %d", fails.Errors, ok.Count)
	}
	checkMixReport(t, r)

	if _, err := Mix(context.Background(), MixOptions{Kinds: kinds, Clients: 0, Duration: time.Second}); err == nil {
		t.Error("no clients: no error")
	}
}

// checkMixReport checks the memory read from the fake /metrics and the
// text report of TestMix's run.
func checkMixReport(t *testing.T, r MixResult) {
	t.Helper()
	m := r.Memory
	if len(m.Samples) < 3 || m.Start != 100<<20 || m.End != 100<<20 || m.Max != 100<<20 || m.Growth != 0 || m.Samples[0].Heap != 5<<20 || m.Samples[0].Goal != 8<<20 {
		t.Errorf("memory: %+v", m)
	}
	var b strings.Builder
	ReportMix(&b, r)
	for _, want := range []string{"mixed load: 0.3 s, 4 clients, ", "\nok ", "\nfails ", "\noff ", "RSS start 100.0 MiB, end 100.0 MiB, max 100.0 MiB: growth +0.0 MiB",
		"heap     5.0 MiB  GC goal     8.0 MiB\n",
		"errors: fails ×", ", the first: failure "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestMixRunsEveryKind: a kind of tiny weight still runs in a short run.
func TestMixRunsEveryKind(t *testing.T) {
	var rare atomic.Int64
	kinds := []Kind{
		{Name: "common", Weight: 1_000_000, Do: func(context.Context) error { time.Sleep(time.Millisecond); return nil }},
		{Name: "rare", Weight: 1, Do: func(context.Context) error { rare.Add(1); return nil }},
		{Name: "off", Weight: 0, Do: func(context.Context) error { t.Error("a kind of weight 0 ran"); return nil }},
	}
	for _, clients := range []int{1, 2, 5} {
		rare.Store(0)
		r, err := Mix(context.Background(), MixOptions{Kinds: kinds, Clients: clients, Duration: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if r.Kinds[1].Count != 1 || rare.Load() != 1 || r.Kinds[0].Count == 0 {
			t.Errorf("%d clients: rare ran %d times (counted %d), common %d", clients, rare.Load(), r.Kinds[1].Count, r.Kinds[0].Count)
		}
	}
}

func TestMixEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	block := Kind{Name: "block", Weight: 1, Do: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	time.AfterFunc(50*time.Millisecond, cancel)
	r, err := Mix(ctx, MixOptions{Kinds: []Kind{block}, Clients: 2, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// The requests cut off by the end are neither successes nor errors.
	if r.Seconds > 10 || r.Kinds[0].Count != 0 || r.Kinds[0].Errors != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestParseMetrics(t *testing.T) {
	for _, c := range []struct {
		in   string
		want MemorySample
		ok   bool
	}{
		{"process_resident_memory_bytes 1.2e+07\ngo_memstats_heap_inuse_bytes 4096\ngo_memstats_next_gc_bytes 8192\n", MemorySample{RSS: 12_000_000, Heap: 4096, Goal: 8192}, true},
		{"# HELP process_resident_memory_bytes Resident memory size in bytes.\nprocess_resident_memory_bytes 123\n", MemorySample{RSS: 123}, true},
		{"go_memstats_heap_inuse_bytes 4096\n", MemorySample{Heap: 4096}, false},
		{"process_resident_memory_bytes NaNx\n", MemorySample{}, false},
		{"process_resident_memory_bytes_other 5\n", MemorySample{}, false},
	} {
		got, ok := ParseMetrics(strings.NewReader(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("ParseMetrics(%q) = %+v %v, want %+v %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestMemorySummary(t *testing.T) {
	m := Memory{Samples: []MemorySample{{At: 0, RSS: 100}, {At: 5, RSS: 180}, {At: 10, RSS: 150}, {At: 15, RSS: 160}, {At: 20, RSS: 170}}}
	m.summarise()
	// Half the run is 10 s: the late growth is from the sample at 10 s.
	if m.Start != 100 || m.End != 170 || m.Max != 180 || m.Growth != 70 || m.Late != 20 {
		t.Fatalf("%+v", m)
	}
	var unread Memory
	unread.summarise()
	if unread.Start != 0 || unread.Growth != 0 {
		t.Fatalf("%+v", unread)
	}
}

func TestMemoryReadFailure(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s := startSampler(ctx, srv.URL, time.Hour)
	cancel()
	m := s.finish(time.Now())
	if len(m.Samples) != 0 || m.Failures != 2 || !strings.Contains(m.FirstErr, "404") {
		t.Fatalf("%+v", m)
	}
	var b strings.Builder
	reportMemory(&b, m)
	if !strings.Contains(b.String(), "server memory: not read (GET ") {
		t.Fatalf("report: %s", b.String())
	}
}

func TestRing(t *testing.T) {
	r := newRing[int](3)
	if _, ok := r.random(); ok {
		t.Fatal("an empty ring gave a value")
	}
	for i := range 5 {
		r.put(i)
	}
	if fmt.Sprint(r.vals) != "[3 4 2]" {
		t.Fatalf("after 5 puts into 3: %v", r.vals)
	}
	var seen []int
	for range 4 {
		v, ok := r.next(func(v int) bool { return v != 4 })
		if !ok {
			t.Fatal("next found nothing")
		}
		seen = append(seen, v)
	}
	if fmt.Sprint(seen) != "[3 2 3 2]" {
		t.Fatalf("next, passing over 4: %v", seen)
	}
	if _, ok := r.next(func(int) bool { return false }); ok {
		t.Fatal("next found a value every one refuses")
	}
}

func TestClaimHint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"code":"rate_limited"}`))
	}))
	defer srv.Close()
	tr, err := NewTraffic(TrafficOptions{Server: srv.URL, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	tr.codes = []issuedLicence{{id: "x", code: "c"}}
	err = tr.Claim(context.Background())
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 429 || !strings.Contains(err.Error(), "--trusted-proxies") {
		t.Fatalf("claim refused with 429: %v", err)
	}
	if err := tr.Claim(context.Background()); !errors.Is(err, ErrSkip) {
		t.Fatalf("no claim code left: %v", err)
	}
	for _, bad := range []TrafficOptions{{Server: "ftp://x", Token: "t"}, {Server: "http://x"}} {
		if _, err := NewTraffic(bad); err == nil {
			t.Errorf("NewTraffic(%+v): no error", bad)
		}
	}
}

func TestHolderCodes(t *testing.T) {
	tr, err := NewTraffic(TrafficOptions{Server: "http://127.0.0.1:1", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 200 {
		c, err := tr.holderCode()
		if err != nil {
			t.Fatal(err)
		}
		if seen[c] {
			t.Fatalf("holder code %s twice", c)
		}
		seen[c] = true
	}
}

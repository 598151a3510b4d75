package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is one kind of request in a mix: its name, its weight (its share of
// the requests is Weight over the sum of the weights) and the request.
type Kind struct {
	Name   string
	Weight int
	// Do makes one request of the kind. An error is counted against the
	// kind and its text kept (the first of each kind); ErrSkip says there
	// was nothing to do it with this time (no claim code left, every held
	// licence already shown this second), and another kind is picked.
	Do func(ctx context.Context) error
}

// ErrSkip is returned by a Kind's Do that had nothing to work on.
var ErrSkip = errors.New("loadtest: nothing to do for this kind now")

// Weights parses "name=weight,name=weight" into a map, each weight a
// non-negative integer.
func Weights(s string) (map[string]int, error) {
	out := map[string]int{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if !ok || name == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("weight %q: want name=N with N a whole number ≥ 0", part)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("weight %q: %s given twice", part, name)
		}
		out[name] = n
	}
	return out, nil
}

// Reweigh returns kinds with the weights in w replacing theirs; a name in
// w that is no kind's is an error that lists the kinds.
func Reweigh(kinds []Kind, w map[string]int) ([]Kind, error) {
	out := slices.Clone(kinds)
	for name, n := range w {
		i := slices.IndexFunc(out, func(k Kind) bool { return k.Name == name })
		if i < 0 {
			names := make([]string, len(kinds))
			for j, k := range kinds {
				names[j] = k.Name
			}
			return nil, fmt.Errorf("no kind %q (kinds: %s)", name, strings.Join(names, ", "))
		}
		out[i].Weight = n
	}
	return out, nil
}

// picker draws kind indexes in proportion to their weights.
type picker struct {
	cum   []int // cumulative weights
	total int
}

func newPicker(kinds []Kind) (picker, error) {
	p := picker{cum: make([]int, len(kinds))}
	for i, k := range kinds {
		if k.Weight < 0 {
			return picker{}, fmt.Errorf("kind %s: negative weight", k.Name)
		}
		p.total += k.Weight
		p.cum[i] = p.total
	}
	if p.total == 0 {
		return picker{}, errors.New("every weight is zero")
	}
	return p, nil
}

// pick maps r, uniform in [0, total), to the kind it falls in.
func (p picker) pick(r int) int {
	i, _ := slices.BinarySearch(p.cum, r+1)
	return i
}

// MixOptions configure Mix.
type MixOptions struct {
	Kinds    []Kind
	Clients  int           // concurrent clients, each drawing its next kind at random
	Duration time.Duration // how long to run
	// Metrics is the server's Prometheus /metrics URL, read every
	// SampleEvery (default 5 s) for its resident memory; "" reads none.
	Metrics     string
	SampleEvery time.Duration
	Seed        uint64 // for the draws; runs with one seed draw the same sequence per client
}

// KindResult is what one kind measured.
type KindResult struct {
	Name     string  `json:"name"`
	Weight   int     `json:"weight"`
	Count    uint64  `json:"count"` // completed without error
	Errors   uint64  `json:"errors"`
	Skipped  uint64  `json:"skipped"`
	Rate     float64 `json:"per_second"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	FirstErr string  `json:"first_error,omitempty"`
}

// MixResult is what Mix measured.
type MixResult struct {
	Seconds  float64      `json:"seconds"`
	Clients  int          `json:"clients"`
	Requests uint64       `json:"requests"` // completed without error, all kinds
	Errors   uint64       `json:"errors"`
	Rate     float64      `json:"per_second"`
	Kinds    []KindResult `json:"kinds"`
	Memory   Memory       `json:"server_memory"`
	// NotModified is, for each conditional kind, how many of its
	// requests the server answered 304; the caller fills it in.
	NotModified map[string]Conditional `json:"not_modified,omitempty"`
}

// Conditional counts a conditional kind's requests and its 304 answers.
type Conditional struct {
	Requests    uint64 `json:"requests"`
	NotModified uint64 `json:"not_modified"`
}

// kindStats collects one kind's outcomes from every client.
type kindStats struct {
	mu       sync.Mutex
	hist     Hist
	errors   uint64
	skipped  uint64
	firstErr string
}

// Mix runs opts.Kinds from opts.Clients clients for opts.Duration (or
// until ctx ends), each client drawing its next kind by weight (after a
// first request of each kind with a weight, dealt out among them), and
// measures each kind's latencies, errors and rate, and the server's
// memory over the run. A request cut off by the end of the run is not
// counted.
func Mix(ctx context.Context, opts MixOptions) (MixResult, error) {
	p, err := newPicker(opts.Kinds)
	if err != nil {
		return MixResult{}, err
	}
	if opts.Clients < 1 || opts.Duration <= 0 {
		return MixResult{}, errors.New("loadtest: a mix needs at least one client and a positive duration")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	stats := make([]kindStats, len(opts.Kinds))
	var mem *sampler
	if opts.Metrics != "" {
		mem = startSampler(ctx, opts.Metrics, opts.SampleEvery)
	}
	var wg sync.WaitGroup
	// The kinds with a weight are dealt out to the clients as their first
	// requests, so that each runs however short the run and however
	// small its weight; the draws follow.
	first := make([][]int, opts.Clients)
	n := 0
	for i, k := range opts.Kinds {
		if k.Weight > 0 {
			first[n%opts.Clients] = append(first[n%opts.Clients], i)
			n++
		}
	}
	for c := range opts.Clients {
		rng := rand.New(rand.NewPCG(opts.Seed, uint64(c)))
		wg.Go(func() { runClient(ctx, opts.Kinds, p, first[c], rng, stats) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := MixResult{Seconds: elapsed.Seconds(), Clients: opts.Clients}
	for i, k := range opts.Kinds {
		s := &stats[i]
		kr := KindResult{Name: k.Name, Weight: k.Weight, Count: s.hist.Count(), Errors: s.errors, Skipped: s.skipped,
			FirstErr: s.firstErr}
		kr.Rate = float64(kr.Count) / res.Seconds
		kr.P50, kr.P99, kr.Max = ms(s.hist.Quantile(0.50)), ms(s.hist.Quantile(0.99)), ms(s.hist.Max())
		res.Kinds = append(res.Kinds, kr)
		res.Requests += kr.Count
		res.Errors += kr.Errors
	}
	res.Rate = float64(res.Requests) / res.Seconds
	if mem != nil {
		res.Memory = mem.finish(time.Now())
	}
	return res, nil
}

// hungAfter is how long a request cut off by the end of the run may have
// waited and still not count as an error.
const hungAfter = 30 * time.Second

// maxSkips bounds how often in a row a client draws a kind with nothing
// to do before it pauses a moment (every kind it drew waits on others).
const maxSkips = 64

func runClient(ctx context.Context, kinds []Kind, p picker, first []int, rng *rand.Rand, stats []kindStats) {
	skips := 0
	for ctx.Err() == nil {
		var i int
		if len(first) > 0 {
			i, first = first[0], first[1:]
		} else {
			i = p.pick(rng.IntN(p.total))
		}
		t0 := time.Now()
		err := kinds[i].Do(ctx)
		lat := time.Since(t0)
		if ctx.Err() != nil && lat < hungAfter {
			return // cut off by the end of the run: not counted
		}
		s := &stats[i]
		s.mu.Lock()
		switch {
		case ctx.Err() != nil:
			// A server that stopped answering must not end the run
			// with no errors.
			s.errors++
			if s.firstErr == "" {
				s.firstErr = fmt.Sprintf("no answer after %v when the run ended", lat.Round(time.Second))
			}
		case errors.Is(err, ErrSkip):
			s.skipped++
		case err != nil:
			s.errors++
			if s.firstErr == "" {
				s.firstErr = err.Error()
			}
		default:
			s.hist.Add(lat)
		}
		s.mu.Unlock()
		if !errors.Is(err, ErrSkip) {
			skips = 0
			continue
		}
		if skips++; skips >= maxSkips {
			skips = 0
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

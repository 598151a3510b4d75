package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The Prometheus metrics read: the process's resident memory (what the
// machine gives it, the pages of the files it maps included), the Go heap
// in use, and the collector's goal for the next cycle, which follows the
// live heap without the sawtooth of the heap in use: a goal that stays
// level while the RSS grows points at mapped files, not at a leak.
const (
	metricRSS  = "process_resident_memory_bytes"
	metricHeap = "go_memstats_heap_inuse_bytes"
	metricGoal = "go_memstats_next_gc_bytes"
)

// MemorySample is the server's memory at one moment of the run.
type MemorySample struct {
	At   float64 `json:"at_seconds"` // since the start of the run
	RSS  uint64  `json:"rss_bytes"`
	Heap uint64  `json:"heap_inuse_bytes"`
	Goal uint64  `json:"gc_goal_bytes"`
}

// Memory is the server's memory over a run.
type Memory struct {
	Samples  []MemorySample `json:"samples"`
	Start    uint64         `json:"rss_start_bytes"`
	End      uint64         `json:"rss_end_bytes"`
	Max      uint64         `json:"rss_max_bytes"`
	Growth   int64          `json:"rss_growth_bytes"`      // End − Start
	Late     int64          `json:"rss_late_growth_bytes"` // End − the sample at half the run: growth once warmed up
	FirstErr string         `json:"first_error,omitempty"`
	Failures int            `json:"failed_reads,omitempty"`
}

// ParseMetrics reads the resident memory, the heap in use and the
// collector's goal from a Prometheus text exposition into a sample (At
// not set); ok is false when the RSS is missing.
func ParseMetrics(r io.Reader) (m MemorySample, ok bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, found := bytes.Cut(sc.Bytes(), []byte(" "))
		if !found {
			continue
		}
		var dst *uint64
		switch string(name) {
		case metricRSS:
			dst, ok = &m.RSS, true
		case metricHeap:
			dst = &m.Heap
		case metricGoal:
			dst = &m.Goal
		default:
			continue
		}
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(value)), 64)
		if err != nil || f < 0 {
			if dst == &m.RSS {
				ok = false
			}
			continue
		}
		*dst = uint64(f)
	}
	return m, ok
}

// sampler reads the server's metrics every few seconds.
type sampler struct {
	url    string
	client *http.Client
	start  time.Time
	mu     sync.Mutex
	mem    Memory
	done   chan struct{}
}

func startSampler(ctx context.Context, url string, every time.Duration) *sampler {
	if every <= 0 {
		every = 5 * time.Second
	}
	s := &sampler{url: url, client: &http.Client{Timeout: 10 * time.Second}, start: time.Now(), done: make(chan struct{})}
	s.read(time.Now())
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				s.read(now)
			}
		}
	}()
	return s
}

func (s *sampler) read(now time.Time) {
	m, err := s.fetch()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.mem.Failures++
		if s.mem.FirstErr == "" {
			s.mem.FirstErr = err.Error()
		}
		return
	}
	m.At = now.Sub(s.start).Seconds()
	s.mem.Samples = append(s.mem.Samples, m)
}

func (s *sampler) fetch() (MemorySample, error) {
	resp, err := s.client.Get(s.url)
	if err != nil {
		return MemorySample{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return MemorySample{}, fmt.Errorf("GET %s: %s", s.url, resp.Status)
	}
	m, ok := ParseMetrics(resp.Body)
	if !ok {
		return MemorySample{}, fmt.Errorf("GET %s: no %s", s.url, metricRSS)
	}
	return m, nil
}

// finish takes a last sample at the end of the run and sums up.
func (s *sampler) finish(now time.Time) Memory {
	<-s.done
	s.read(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mem
	m.summarise()
	return m
}

func (m *Memory) summarise() {
	if len(m.Samples) == 0 {
		return
	}
	m.Start, m.End = m.Samples[0].RSS, m.Samples[len(m.Samples)-1].RSS
	mid := m.Samples[0]
	half := m.Samples[len(m.Samples)-1].At / 2
	for _, x := range m.Samples {
		m.Max = max(m.Max, x.RSS)
		if x.At <= half {
			mid = x
		}
	}
	m.Growth = int64(m.End) - int64(m.Start)
	m.Late = int64(m.End) - int64(mid.RSS)
}

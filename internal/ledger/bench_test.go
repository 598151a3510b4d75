package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicense/internal/ledger"
	"elicense/internal/ledger/boltstore"
	"elicense/internal/ledger/tlog"
)

// Benchmarks (docs/performance.md has the figures and the command):
//
//	go test -run='^$' -bench=. -benchtime=3s ./internal/ledger/...
//
// The files live under $LEDGER_BENCH_DIR if set, else the system temp
// directory; fsync is on, so put them on the disk you want to measure.

var benchRoot = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp(os.Getenv("LEDGER_BENCH_DIR"), "ledger-bench-")
	if err != nil {
		panic(err)
	}
	return dir
})

var benchRootUsed atomic.Bool

func benchDir(b *testing.B) string {
	benchRootUsed.Store(true)
	dir, err := os.MkdirTemp(benchRoot(), "run-")
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchRootUsed.Load() {
		os.RemoveAll(benchRoot())
	}
	os.Exit(code)
}

// BenchmarkAppend measures durable appends (fsync on) with 1, 16 and 256
// concurrent appenders; each op is one Append of a typical ~200-byte
// issuance entry.
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			l := openTest(b, filepath.Join(benchDir(b), "append.db"))
			defer l.Close()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						if _, err := l.Append(context.Background(), testEntry(int(i)+w)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
		})
	}
}

// bigLog builds (once per process) a closed log of n entries and returns
// its path. Entries go in through AppendAll in runs of 10,000, which is
// the real append path with large batches.
func bigLog(b *testing.B, n int) string {
	v, _ := bigLogs.LoadOrStore(n, sync.OnceValues(func() (string, error) {
		path := filepath.Join(benchRoot(), fmt.Sprintf("big-%d.db", n))
		benchRootUsed.Store(true)
		l, err := openAt(path, nil, ledger.Options{Origin: testOrigin, Signer: testKey(b)})
		if err != nil {
			return "", err
		}
		t0 := time.Now()
		const run = 10_000
		es := make([][]byte, 0, run)
		for i := 0; i < n; i += run {
			es = es[:0]
			for j := i; j < min(i+run, n); j++ {
				es = append(es, testEntry(j))
			}
			if _, err := l.AppendAll(context.Background(), es); err != nil {
				return "", err
			}
		}
		if err := l.Close(); err != nil {
			return "", err
		}
		fi, _ := os.Stat(path)
		fmt.Fprintf(os.Stderr, "built a %d-entry log in %v (%d MB file)\n", n, time.Since(t0).Round(time.Millisecond), fi.Size()>>20)
		return path, nil
	}))
	path, err := v.(func() (string, error))()
	if err != nil {
		b.Fatal(err)
	}
	return path
}

var bigLogs sync.Map

const million = 1_000_000

// BenchmarkInclusionProof serves inclusion proofs for random entries of a
// 1M-entry log against its full size, from the bbolt file.
func BenchmarkInclusionProof(b *testing.B) {
	l := openTest(b, bigLog(b, million))
	defer l.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.InclusionProof(rng.Uint64N(million), million); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyInclusion verifies inclusion proofs at 1M entries (what
// a wallet or counter does, offline).
func BenchmarkVerifyInclusion(b *testing.B) {
	l := openTest(b, bigLog(b, million))
	cp := l.Checkpoint()
	type pr struct {
		i     uint64
		leaf  tlog.Hash
		proof []tlog.Hash
	}
	var ps []pr
	rng := rand.New(rand.NewPCG(2, 2))
	for range 1024 {
		i := rng.Uint64N(million)
		p, err := l.InclusionProof(i, cp.Size)
		if err != nil {
			b.Fatal(err)
		}
		leaf, _ := l.LeafHash(i)
		ps = append(ps, pr{i, leaf, p})
	}
	l.Close()
	b.ResetTimer()
	k := 0
	for b.Loop() {
		p := ps[k%len(ps)]
		k++
		if err := tlog.VerifyInclusion(p.leaf, p.i, cp.Size, p.proof, cp.Root); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConsistencyProof serves consistency proofs between random
// sizes and the full size of a 1M-entry log.
func BenchmarkConsistencyProof(b *testing.B) {
	l := openTest(b, bigLog(b, million))
	defer l.Close()
	rng := rand.New(rand.NewPCG(3, 3))
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.ConsistencyProof(1+rng.Uint64N(million-1), million); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen measures reopening a 1M-entry log (restart after a crash):
// state checks, consistency with the last checkpoint.
func BenchmarkOpen(b *testing.B) {
	path := bigLog(b, million)
	for b.Loop() {
		l := openTest(b, path)
		l.Close()
	}
}

// BenchmarkFsck checks a 100k-entry log (hashes, checkpoint signatures);
// ns/op is the time per 100k entries.
func BenchmarkFsck(b *testing.B) {
	path := bigLog(b, 100_000)
	s, err := boltstore.Open(path, &boltstore.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	v := openVerifier(b)
	b.ResetTimer()
	for b.Loop() {
		rep, err := ledger.Fsck(context.Background(), s, ledger.FsckOptions{Verifier: v})
		if err != nil || rep.Entries != 100_000 {
			b.Fatal(rep, err)
		}
	}
	b.ReportMetric(float64(100_000)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

func openVerifier(b *testing.B) *tlog.NoteVerifier {
	s, err := tlog.NewNoteSigner(testOrigin, testKey(b))
	if err != nil {
		b.Fatal(err)
	}
	return s.Verifier()
}

package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	type want struct {
		name, unit string
		values     []float64
	}
	tests := []struct {
		name     string
		in       string
		want     []want
		failures int
	}{
		{
			name: "plain lines, the GOMAXPROCS suffix dropped",
			in: "goos: linux\npkg: elicense/internal/gm\ncpu: Some CPU\n" +
				"BenchmarkSign-2       \t    1078\t    100570 ns/op\t    4345 B/op\t      58 allocs/op\n" +
				"BenchmarkSM3_1KiB-2   \t   19078\t      6895 ns/op\t 148.51 MB/s\t       0 B/op\t       0 allocs/op\n" +
				"PASS\nok  \telicense/internal/gm\t0.449s\n",
			want: []want{
				{"BenchmarkSign", "ns/op", []float64{100570}},
				{"BenchmarkSign", "allocs/op", []float64{58}},
				{"BenchmarkSM3_1KiB", "MB/s", []float64{148.51}},
			},
		},
		{
			name: "-count: one value a line; sub-benchmarks; units of the benchmark's own",
			in: "BenchmarkAppend/writers=16-2   \t 1000\t 35000 ns/op\t 28000 appends/s\n" +
				"BenchmarkAppend/writers=16-2   \t 1000\t 36000 ns/op\t 27000 appends/s\n" +
				"BenchmarkIssue-4   \t 20000\t 90000 ns/op\t 11000 issuances/s\t 154.2 cpu-µs/op\t 1.9 pages/op\n",
			want: []want{
				{"BenchmarkAppend/writers=16", "appends/s", []float64{28000, 27000}},
				{"BenchmarkIssue", "cpu-µs/op", []float64{154.2}},
				{"BenchmarkIssue", "pages/op", []float64{1.9}},
			},
		},
		{
			name: "the name printed, then the benchmark's own output, then the result",
			in: "BenchmarkInclusionProof-2   \tbuilt a 1000000-entry log in 9.1s (96 MB file)\n" +
				"  123456\t     24000 ns/op\n" +
				"BenchmarkCounterSyncDay-2   \t--- BENCH: noise\n" +
				"some line a test printed\n" +
				"       1\t 12000000000 ns/op\t 34400 day-sync-bytes\t 16.00 day-sync-ms\n",
			want: []want{
				{"BenchmarkInclusionProof", "ns/op", []float64{24000}},
				{"BenchmarkCounterSyncDay", "day-sync-bytes", []float64{34400}},
				{"BenchmarkCounterSyncDay", "day-sync-ms", []float64{16}},
			},
		},
		{
			name: "b.Log lines and a result line's look-alike are not results",
			in: "BenchmarkX-2 \t 10\t 5 ns/op\n--- BENCH: BenchmarkX-2\n    x_test.go:9: 3 of 4 ok\n" +
				"BenchmarkY is a word in a sentence\n",
			want: []want{{"BenchmarkX", "ns/op", []float64{5}}, {"BenchmarkY", "ns/op", nil}},
		},
		{
			name: "failures",
			in: "BenchmarkX-2 \t 10\t 5 ns/op\n--- FAIL: BenchmarkY-2\n    y_test.go:3: boom\nFAIL\n" +
				"FAIL\telicense/x\t1.2s\npanic: runtime error\n",
			want:     []want{{"BenchmarkX", "ns/op", []float64{5}}},
			failures: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := parse(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if got := res.get(w.name, w.unit); !reflect.DeepEqual(got, w.values) {
					t.Errorf("%s %s = %v, want %v", w.name, w.unit, got, w.values)
				}
			}
			if len(res.failures) != tt.failures {
				t.Errorf("failures %q, want %d", res.failures, tt.failures)
			}
		})
	}
}

// TestCapturedOutput evaluates every figure on real output of every run
// (testdata/quick: scripts/figures --quick --long --out, with PostgreSQL):
// each value the table names is in it, under the name and unit the
// benchmark prints.
func TestCapturedOutput(t *testing.T) {
	dir := filepath.Join("testdata", "quick")
	o := options{quick: true, long: true, pg: "postgres://captured", count: 1}
	res, err := load(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rows(res, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.hand == "" && (r.now == "" || strings.Contains(r.now, "not run") || strings.Contains(r.now, "missing")) {
			t.Errorf("%q: now %q", r.what, r.now)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != len(runs) {
		t.Errorf("%d captured outputs for %d runs: capture them again", len(entries), len(runs))
	}
}

package main

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// results holds one run's benchmark output: for each benchmark (its
// name without the -GOMAXPROCS suffix) and unit, the value of every
// result line, in order (one a -count).
type results struct {
	values map[string]map[string][]float64
	config map[string]string // goos, pkg, cpu…: the last value of each
	// failures are the lines saying a benchmark or the package failed
	// (--- FAIL, FAIL, panic:).
	failures []string
}

var (
	// A result line: name, iterations, then value–unit pairs.
	resultLine = regexp.MustCompile(`^(Benchmark\S*)\s+(\d+)\s+(.*)$`)
	// The rest of a result line whose name was printed, then interrupted
	// by output of the benchmark's own (testing prints the name before it
	// runs the benchmark).
	orphanLine = regexp.MustCompile(`^\s*(\d+)\s+([-+0-9.eE]+ \S+.*)$`)
	// A line that only names a benchmark, and whatever it printed after.
	nameOnly   = regexp.MustCompile(`^(Benchmark\S*)\s`)
	configLine = regexp.MustCompile(`^([a-z][^\s:A-Z]*): (.*)$`)
	procs      = regexp.MustCompile(`-\d+$`)
)

// parse reads go test -bench output. It never fails on a line it does not
// know (tests and benchmarks print what they like); what matters is
// checked by the caller: the values it needs, and no failures.
func parse(r io.Reader) (*results, error) {
	res := &results{values: map[string]map[string][]float64{}, config: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	pending := "" // a name printed without its result yet
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "--- FAIL"), line == "FAIL", strings.HasPrefix(line, "FAIL\t"),
			strings.HasPrefix(line, "FAIL "), strings.HasPrefix(line, "panic:"):
			res.failures = append(res.failures, line)
		}
		if m := resultLine.FindStringSubmatch(line); m != nil && res.add(m[1], m[3]) {
			pending = ""
			continue
		}
		if m := nameOnly.FindStringSubmatch(line); m != nil {
			pending = m[1]
			continue
		}
		if m := orphanLine.FindStringSubmatch(line); m != nil && pending != "" && res.add(pending, m[2]) {
			pending = ""
			continue
		}
		if m := configLine.FindStringSubmatch(line); m != nil {
			res.config[m[1]] = m[2]
		}
	}
	return res, sc.Err()
}

// add records the value–unit pairs of a result line; false if they are
// not pairs of a number and a unit.
func (res *results) add(name, pairs string) bool {
	f := strings.Fields(pairs)
	if len(f) == 0 || len(f)%2 != 0 {
		return false
	}
	vals := make([]float64, 0, len(f)/2)
	for i := 0; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return false
		}
		vals = append(vals, v)
	}
	name = procs.ReplaceAllString(name, "")
	m := res.values[name]
	if m == nil {
		m = map[string][]float64{}
		res.values[name] = m
	}
	for i, v := range vals {
		m[f[2*i+1]] = append(m[f[2*i+1]], v)
	}
	return true
}

// get returns the values of name's unit, or nil.
func (res *results) get(name, unit string) []float64 {
	if res == nil {
		return nil
	}
	return res.values[name][unit]
}

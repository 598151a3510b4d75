package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{13412.7, "issuances/s", "13,400"},
		{74.63, "p99-ms", "74.6"},
		{1.158, "", "1.16"},
		{0.0312, "", "0.0312"},
		{2, "", "2"},
		{1.9, "ns/op", "1.9 ns"},
		{26012, "ns/op", "26 µs"},
		{280000, "ns/op", "280 µs"},
		{13e6, "ns/op", "13 ms"},
		{1.7e9, "ns/op", "1.7 s"},
		{-1234, "", "-1,230"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.v, tt.unit, false); got != tt.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
	if got := exact(17151114); got != "17,151,114" {
		t.Errorf("exact = %q", got)
	}
}

// TestRows evaluates figures on made-up output: targets met and missed,
// values missing, runs left out and why.
func TestRows(t *testing.T) {
	out := func(lines ...string) *results {
		res, err := parse(strings.NewReader(strings.Join(lines, "\n")))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := map[string]*results{
		"credential": out("BenchmarkSignCredential-2 1 41000 ns/op", "BenchmarkVerifyCredential-2 1 88000 ns/op", "BenchmarkBareVerify-2 1 62000 ns/op"),
		"issue": out("BenchmarkIssue-4 20000 90000 ns/op 11000 issuances/s 150 cpu-µs/op 1.9 pages/op",
			"BenchmarkIssue-4 20000 90000 ns/op 9000 issuances/s 160 cpu-µs/op 2.1 pages/op",
			"BenchmarkIssue-4 20000 90000 ns/op 12000 issuances/s 140 cpu-µs/op 1.8 pages/op"),
		"ledger": out("BenchmarkAppend/writers=1-2 1 1 ns/op 3000 appends/s", "BenchmarkAppend/writers=256-2 1 1 ns/op 9000 appends/s"),
	}
	o := options{only: regexp.MustCompile(`^(credential|issue|ledger)$`), count: 3}
	rs, err := rows(res, o)
	if err == nil || !strings.Contains(err.Error(), "BenchmarkAppend/writers=16 appends/s of run ledger: not in the output") {
		t.Errorf("error %v, want BenchmarkAppend/writers=16 missing", err)
	}
	want := map[string][2]string{
		"credential sign / verify; verify against a bare SM2 verify of the same input": {"41 µs / 88 µs; 1.42 ×", "**no**: 1.42 × > 1.3"},
		"durable issuance through the library, 64 callers":                             {"11,000/s [9,000–12,000], 150 µs CPU [140–160], 1.9 pages/op [1.8–2.1]", "yes"},
		"ledger durable appends, 1 / 16 / 256 writers":                                 {"3,000 / **missing** / 9,000/s", "**no**: 9,000/s < 10,000"},
		"SM2 sign / verify, 256 B":                                                     {"not run (`--only`)", "—"},
		"the same over 400,000 issuances, holder-index merges included":                {"not run (`--only`)", "not run"},
		"seal verification":       {"not run (`--only`)", "—"},
		"issuer start to healthy": {"by hand", "—"},
	}
	for _, r := range rs {
		w, ok := want[r.what]
		if !ok {
			continue
		}
		delete(want, r.what)
		if r.now != w[0] || r.met != w[1] {
			t.Errorf("%q: now %q, met %q; want %q, %q", r.what, r.now, r.met, w[0], w[1])
		}
	}
	for what := range want {
		t.Errorf("no row %q", what)
	}
}

// TestSkipped: the long runs, and the PostgreSQL ones without a DSN, are
// left out of the plan, and their figures say why.
func TestSkipped(t *testing.T) {
	ids := func(o options) string {
		var s []string
		for _, p := range plan(o) {
			s = append(s, p.id)
		}
		return " " + strings.Join(s, " ") + " "
	}
	if s := ids(options{}); strings.Contains(s, " archive ") || strings.Contains(s, "-pg ") || !strings.Contains(s, " issue ") {
		t.Errorf("default plan: %s", s)
	}
	s := ids(options{long: true, pg: "postgres://x"})
	for _, id := range []string{"archive", "receipts-pg", "replicas-pg"} {
		if !strings.Contains(s, " "+id+" ") {
			t.Errorf("plan with -long -pg lacks %s: %s", id, s)
		}
	}
	for _, p := range plan(options{quick: true, pg: "postgres://u:secret@h/db"}) {
		if p.id == "replicas-pg" && !strings.HasSuffix(p.planLine(), "\tELICENSE_TEST_PG=postgres://u:secret@h/db") {
			t.Errorf("plan line %q", p.planLine())
		}
		if p.id == "countersync" && p.benchtime != "1x" || p.id == "issue" && p.benchtime != "500x" {
			t.Errorf("quick plan: %s at %s", p.id, p.benchtime)
		}
	}
	rs, _ := rows(nil, options{})
	for _, r := range rs {
		if strings.HasPrefix(r.what, "archive package") && r.now != "not run: long (`--long`)" {
			t.Errorf("archive: %q", r.now)
		}
		if strings.HasPrefix(r.what, "the issuer taking") && r.now != "bbolt **missing** / **missing**; PostgreSQL not run: no PostgreSQL (`--pg DSN`)" {
			t.Errorf("receipts: %q", r.now)
		}
	}
}

// TestReport prints the captured output's table in both forms and fails
// on a planned run's output missing.
func TestReport(t *testing.T) {
	o := options{quick: true, long: true, pg: "postgres://captured", count: 1}
	m := func(cpu string) machine { return machine{CPU: cpu, Cores: 2, Date: "today"} }
	var text, md bytes.Buffer
	if err := report(&text, filepath.Join("testdata", "quick"), o, false, m); err != nil {
		t.Fatal(err)
	}
	if err := report(&md, filepath.Join("testdata", "quick"), o, true, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CPU: ", "| what | benchmark or command | this run | target | met |", "| SM2 sign / verify, 256 B | `internal/gm` `BenchmarkSign`, `BenchmarkVerify` | "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(md.String(), "Measured with `scripts/figures` on CPU: ") || !strings.Contains(md.String(), tableHeader+"\n"+tableRule+"\n") {
		t.Errorf("markdown:\n%s", md.String())
	}
	dir := t.TempDir()
	src, _ := os.ReadFile(filepath.Join("testdata", "quick", "gm.txt"))
	os.WriteFile(filepath.Join(dir, "gm.txt"), src, 0o644)
	err := report(&bytes.Buffer{}, dir, options{only: regexp.MustCompile(`^(gm|qr)$`)}, false, m)
	if err == nil || !strings.Contains(err.Error(), "run qr: no output") {
		t.Errorf("a run's output missing: %v", err)
	}
}

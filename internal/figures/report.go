package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// options are what plan and report are asked for; scripts/figures gives
// both the same.
type options struct {
	quick bool
	long  bool
	pg    string         // the PostgreSQL DSN; "" runs no PostgreSQL figure
	only  *regexp.Regexp // runs whose id matches; nil for all
	count int
}

// skipped says why o leaves r out, or "" if it runs.
func (o options) skipped(r run) string {
	switch {
	case o.only != nil && !o.only.MatchString(r.id):
		return "not run (`--only`)"
	case r.long && !o.long:
		return "not run: long (`--long`)"
	case r.pg != "" && o.pg == "":
		return "not run: no PostgreSQL (`--pg DSN`)"
	}
	return ""
}

// A planned run is a go test invocation: the run, and its -benchtime and
// environment under o.
type planned struct {
	run
	benchtime string
	env       []string
}

func plan(o options) []planned {
	var out []planned
	for _, r := range runs {
		if o.skipped(r) != "" {
			continue
		}
		p := planned{run: r, benchtime: r.benchtime, env: slices.Clone(r.env)}
		if o.quick {
			p.benchtime = r.quick
			if r.quickEnv != nil {
				p.env = slices.Clone(r.quickEnv)
			}
		}
		if r.pg != "" {
			p.env = append(p.env, r.pg+"="+o.pg)
		}
		if p.timeout == "" {
			p.timeout = defaultTimeout
		}
		out = append(out, p)
	}
	return out
}

// benchRegexp is the -bench argument that runs r's benchmarks, every
// sub-benchmark included.
func (r run) benchRegexp() string { return "^(" + strings.Join(r.benches, "|") + ")$" }

// planLine is p as scripts/figures reads it: tab-separated fields.
func (p planned) planLine() string {
	return strings.Join([]string{p.id, p.pkg, p.benchRegexp(), p.benchtime, p.timeout, strings.Join(p.env, " ")}, "\t")
}

// load reads the output of every run o plans from dir/<id>.txt. A missing
// file, or a failure in one, is an error.
func load(dir string, o options) (map[string]*results, error) {
	out := map[string]*results{}
	var errs []error
	for _, p := range plan(o) {
		f, err := os.Open(filepath.Join(dir, p.id+".txt"))
		if err != nil {
			errs = append(errs, fmt.Errorf("run %s: no output: %v", p.id, err))
			continue
		}
		res, err := parse(f)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("run %s: %v", p.id, err))
			continue
		}
		if len(res.failures) > 0 {
			errs = append(errs, fmt.Errorf("run %s (go test %s): failed: %s", p.id, p.pkg, strings.Join(res.failures, "; ")))
		}
		out[p.id] = res
	}
	return out, errors.Join(errs...)
}

// A row is a figure as printed.
type row struct {
	figure
	bench string // the "benchmark or command" cell
	now   string // this run's values
	met   string // the target met, missed, or why not known
}

// rows evaluates every figure on res; a value a planned run does not
// hold is an error (a benchmark renamed, gone, or failing before its
// metrics).
func rows(res map[string]*results, o options) ([]row, error) {
	var out []row
	var errs []error
	for _, f := range figures {
		r := row{figure: f, bench: benchCell(f)}
		if f.hand != "" {
			r.now, r.met = "by hand", "—"
			out = append(out, r)
			continue
		}
		var cells, misses []string
		checked, unknown := false, false
		for _, p := range f.parts {
			cell, miss, chk, err := evalPart(p, res, o)
			if err != nil {
				errs = append(errs, fmt.Errorf("figure %q: %w", f.what, err))
			}
			if len(cells) == 0 || cells[len(cells)-1] != cell {
				cells = append(cells, cell)
			}
			misses = append(misses, miss...)
			checked = checked || chk
			unknown = unknown || (partChecks(p) && !chk)
		}
		r.now = strings.Join(cells, "; ")
		switch {
		case len(misses) > 0:
			r.met = "**no**: " + strings.Join(misses, ", ")
		case checked && !unknown:
			r.met = "yes"
		case checked:
			r.met = "yes, where run"
		case unknown:
			r.met = "not run"
		default:
			r.met = "—"
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

func partChecks(p part) bool {
	return slices.ContainsFunc(p.items, func(it item) bool { return it.min != 0 || it.max != 0 })
}

// evalPart formats p's items from res. checked says whether it evaluated
// a target; misses lists the targets missed.
func evalPart(p part, res map[string]*results, o options) (cell string, misses []string, checked bool, err error) {
	for _, it := range p.items {
		if why := o.skipped(runByID(it.run)); why != "" {
			return strings.TrimSpace(p.label + " " + why), nil, false, nil
		}
	}
	var vals []string
	var errs []error
	for _, it := range p.items {
		samples := values(res[it.run], it)
		if len(samples) == 0 {
			errs = append(errs, fmt.Errorf("%s %s of run %s: not in the output", it.bench, it.describe(), it.run))
			vals = append(vals, "**missing**")
			continue
		}
		med, lo, hi := stats(samples)
		text := fmt.Sprintf(it.layout(), formatValue(med, it.unit, it.exact))
		if lo != hi {
			text += " [" + formatValue(lo, it.unit, it.exact) + "–" + formatValue(hi, it.unit, it.exact) + "]"
		}
		vals = append(vals, text)
		if it.min != 0 || it.max != 0 {
			checked = true
		}
		if it.min != 0 && med < it.min {
			misses = append(misses, fmt.Sprintf("%s < %s", strings.TrimSpace(text), number(it.min)))
		}
		if it.max != 0 && med > it.max {
			misses = append(misses, fmt.Sprintf("%s > %s", strings.TrimSpace(text), formatValue(it.max, it.unit, false)))
		}
	}
	sep := p.sep
	if sep == "" {
		sep = ", "
	}
	cell = strings.Join(vals, sep)
	if p.label != "" {
		cell = p.label + " " + cell
	}
	return cell, misses, checked, errors.Join(errs...)
}

// values are it's samples in res: one a -count, or for a ratio one, the
// ratio of the two benchmarks' medians.
func values(res *results, it item) []float64 {
	switch {
	case it.ratio != "":
		a, b := res.get(it.bench, "ns/op"), res.get(it.ratio, "ns/op")
		if len(a) == 0 || len(b) == 0 {
			return nil
		}
		ma, _, _ := stats(a)
		mb, _, _ := stats(b)
		return []float64{ma / mb}
	case it.unit == "ops/s":
		ns := res.get(it.bench, "ns/op")
		out := make([]float64, 0, len(ns))
		for _, v := range ns {
			if v > 0 {
				out = append(out, 1e9/v)
			}
		}
		return out
	}
	return res.get(it.bench, it.unit)
}

func (it item) describe() string {
	if it.ratio != "" {
		return "ns/op (and " + it.ratio + "'s)"
	}
	if it.unit == "ops/s" {
		return "ns/op"
	}
	return it.unit
}

// layout is the item's format, with its default.
func (it item) layout() string {
	switch {
	case it.format != "":
		return it.format
	case strings.HasSuffix(it.unit, "/s") && it.unit != "MB/s":
		return "%s/s"
	}
	return "%s"
}

// stats returns the median, least and greatest of vs (not empty).
func stats(vs []float64) (med, lo, hi float64) {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}

func runByID(id string) run {
	for _, r := range runs {
		if r.id == id {
			return r
		}
	}
	panic("figures: no run " + id) // TestItemsNameRuns holds the table to this
}

// benchCell is the "benchmark or command" cell of f: the package and
// benchmarks of each run it draws on, with what the run sets.
func benchCell(f figure) string {
	if f.hand != "" && strings.Contains(f.hand, "`") {
		return "by hand: " + f.hand
	} else if f.hand != "" {
		return "by hand: `" + f.hand + "`"
	}
	var phrases []string
	seen := map[string]bool{}
	for _, p := range f.parts {
		for _, it := range p.items {
			if seen[it.run] {
				continue
			}
			seen[it.run] = true
			phrases = append(phrases, runPhrase(runByID(it.run), f))
		}
	}
	s := strings.Join(phrases, "; ")
	if f.note != "" {
		s += " (" + f.note + ")"
	}
	return s
}

// runPhrase names r's package and the benchmarks f takes from it.
func runPhrase(r run, f figure) string {
	var names []string
	for _, p := range f.parts {
		for _, it := range p.items {
			if it.run != r.id {
				continue
			}
			for _, n := range []string{it.bench, it.ratio} {
				if n = strings.SplitN(n, "/", 2)[0]; n != "" && !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
		}
	}
	s := "`" + strings.TrimPrefix(r.pkg, "./") + "` `" + strings.Join(names, "`, `") + "`"
	if strings.HasSuffix(r.benchtime, "x") {
		s += " `-benchtime " + r.benchtime + "`"
	}
	for _, e := range r.env {
		s += " `" + e + "`"
	}
	switch {
	case r.pg != "":
		s = "PostgreSQL (`--pg`): " + s
	case r.long:
		s += " (`--long`)"
	}
	return s
}

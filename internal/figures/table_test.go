package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// root is the module's root, from this package's directory.
const root = "../.."

// testSources returns the text of pkg's _test.go files.
func testSources(t *testing.T, pkg string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, pkg, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no test files (%v)", pkg, err)
	}
	var b strings.Builder
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(src)
	}
	return b.String()
}

// TestBenchmarksExist holds the table to the code: every benchmark a run
// names is a func Benchmark… of its package, every unit of its own a
// figure reads is one the package reports, and every test a by-hand
// command runs exists. A benchmark renamed or a metric renamed fails here,
// before a run of scripts/figures would.
func TestBenchmarksExist(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range runs {
		if ids[r.id] {
			t.Errorf("run id %s twice", r.id)
		}
		ids[r.id] = true
		src := testSources(t, r.pkg)
		for _, b := range r.benches {
			if !regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(b) + `\(b \*testing\.B\)`).MatchString(src) {
				t.Errorf("run %s: no func %s(b *testing.B) in %s", r.id, b, r.pkg)
			}
		}
	}
	for _, f := range figures {
		checkFigure(t, f)
	}
}

// builtin are the units go test reports itself, and those figures derive.
var builtin = []string{"ns/op", "MB/s", "B/op", "allocs/op", "ops/s"}

func checkFigure(t *testing.T, f figure) {
	t.Helper()
	if (f.hand == "") == (len(f.parts) == 0) {
		t.Errorf("%q: a figure has either benchmarks or a by-hand command", f.what)
	}
	if f.target == "" {
		t.Errorf("%q: no target (say — for none)", f.what)
	}
	for _, tc := range f.tests {
		pkg, name, _ := strings.Cut(tc, " ")
		if !regexp.MustCompile(`(?m)^func ` + regexp.QuoteMeta(name) + `\(t \*testing\.T\)`).MatchString(testSources(t, pkg)) {
			t.Errorf("%q: no func %s(t *testing.T) in %s", f.what, name, pkg)
		}
	}
	for _, p := range f.parts {
		for _, it := range p.items {
			i := slices.IndexFunc(runs, func(r run) bool { return r.id == it.run })
			if i < 0 {
				t.Errorf("%q: no run %s", f.what, it.run)
				continue
			}
			r := runs[i]
			for _, b := range []string{it.bench, it.ratio} {
				if top := strings.SplitN(b, "/", 2)[0]; top != "" && !slices.Contains(r.benches, top) {
					t.Errorf("%q: run %s does not run %s", f.what, r.id, top)
				}
			}
			if !slices.Contains(builtin, it.unit) && it.ratio == "" && !strings.Contains(testSources(t, r.pkg), `"`+it.unit+`"`) {
				t.Errorf("%q: %s reports no %q", f.what, r.pkg, it.unit)
			}
		}
	}
}

// TestDocAgrees holds docs/performance.md's table of current figures to
// the list: the same figures in the same order, with the same benchmark
// or command and target. The "now" column is the document's own (the
// figures on the project's machine, with what they were measured beside).
func TestDocAgrees(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "performance.md"))
	if err != nil {
		t.Fatal(err)
	}
	got := docRows(t, string(doc))
	rs, _ := rows(nil, options{only: regexp.MustCompile(`^$`)})
	for i, r := range rs {
		want := []string{r.what, r.bench, r.target}
		if i >= len(got) {
			t.Errorf("the document lacks row %d; add:\n%s", i+1, markdownRow(r.what, r.bench, "…", r.target))
			continue
		}
		if g := []string{got[i][0], got[i][1], got[i][3]}; !slices.Equal(g, unescape(want)) {
			t.Errorf("row %d of the document:\n%s\nwant (now column aside):\n%s", i+1,
				markdownRow(got[i]...), markdownRow(r.what, r.bench, got[i][2], r.target))
		}
	}
	if len(got) > len(rs) {
		t.Errorf("the document has %d rows, the list %d figures: the first extra row is %q", len(got), len(rs), got[len(rs)][0])
	}
}

func unescape(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.ReplaceAll(c, `\|`, "|")
	}
	return out
}

// docRows returns the cells of the rows of the table headed tableHeader.
func docRows(t *testing.T, doc string) [][]string {
	t.Helper()
	_, after, ok := strings.Cut(doc, tableHeader+"\n"+tableRule+"\n")
	if !ok {
		t.Fatalf("docs/performance.md has no table headed %q", tableHeader)
	}
	var out [][]string
	for _, line := range strings.Split(after, "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := splitRow(line)
		if len(cells) != 4 {
			t.Fatalf("row of %d cells: %s", len(cells), line)
		}
		out = append(out, cells)
	}
	return out
}

// splitRow splits a markdown table row at the bars that are not escaped.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// TestDocBenchmarksExist: every benchmark docs/performance.md names,
// in its table or its prose, is a func Benchmark… somewhere in the module.
func TestDocBenchmarksExist(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "performance.md"))
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	def := regexp.MustCompile(`(?m)^func (Benchmark\w+)\(`)
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, "_test.go") {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range def.FindAllStringSubmatch(string(src), -1) {
				defined[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`\bBenchmark[A-Z]\w*`).FindAllString(string(doc), -1)
	if len(named) == 0 {
		t.Fatal("the document names no benchmark")
	}
	for _, n := range named {
		if !defined[n] {
			t.Errorf("docs/performance.md names %s, which no _test.go defines", n)
		}
	}
}

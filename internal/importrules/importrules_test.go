package importrules

import (
	"slices"
	"strings"
	"testing"
)

// TestTree enforces the rules on this module: every import of every .go
// file, test files and every platform's files included.
func TestTree(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := load(root)
	if err != nil {
		t.Fatal(err)
	}
	// The walk must have read the files a narrower loader would miss: a
	// js/wasm-only file, the SM interop tests of internal/gm and an
	// external (_test package) test file.
	for _, want := range []edge{
		{File: "mobile-sdk/wasm/main.go", To: tr.Module + "/mobile-sdk"},
		{File: "internal/gm/interop_tjfoc_test.go", To: "github.com/tjfoc/gmsm/sm2"},
		{File: "internal/gm/sm2.go", To: "github.com/emmansun/gmsm/sm2"},
	} {
		if !slices.ContainsFunc(tr.Edges, func(e edge) bool { return e.File == want.File && e.To == want.To }) {
			t.Errorf("the walk did not find %s importing %s", want.File, want.To)
		}
	}

	vs, used := check(tr, exceptions)
	for _, v := range vs {
		t.Error(v)
	}
	for i, x := range exceptions {
		if !used[i] {
			t.Errorf("exception %s → %s matches no import any more: remove it from the table", x.From, x.To)
		}
		if x.Reason == "" {
			t.Errorf("exception %s → %s has no reason", x.From, x.To)
		}
	}
	for p, why := range storageBackends {
		if !slices.ContainsFunc(tr.Edges, func(e edge) bool { return e.From == tr.Module+"/"+p && isStorageEngine(e.To) }) {
			t.Errorf("storage backend %s (%s) imports no storage engine any more: remove it from the table", p, why)
		}
	}
	for p, why := range testSupport {
		if !slices.ContainsFunc(tr.Edges, func(e edge) bool { return e.From == tr.Module+"/"+p }) {
			t.Errorf("test-support package %s (%s) is not in the tree any more", p, why)
		}
	}
}

// TestRules runs the rules over synthetic imports, one table row each.
func TestRules(t *testing.T) {
	const m = "example.com/m"
	exc := []exception{
		{From: "issuer/api", To: "verifier/seal", TestOnly: true, Reason: "r"},
		{From: "certs/ses", To: "github.com/tjfoc/gmsm/...", TestOnly: true, Reason: "r"},
		{From: "certs/trust", To: "issuer/pki", Reason: "r"},
	}
	for _, c := range []struct {
		name       string
		from, to   string
		test       bool
		usesTest   []string
		want       string // rule, "" when allowed
		wantExcept int    // index of the exception that allows it, or -1
	}{
		{"cmd imports issuer", "cmd/elicense", "issuer/api", false, nil, "", -1},
		{"cmd imports internal", "cmd/elicense-verify", "internal/gm", false, nil, "", -1},
		{"issuer imports certs", "issuer/service", "certs/ses", false, nil, "", -1},
		{"verifier imports itself", "verifier/counter", "verifier/store", false, nil, "", -1},
		{"certs imports internal", "certs/ses", "internal/gm", false, nil, "", -1},
		{"internal imports internal", "internal/ledger", "internal/ledger/tlog", false, nil, "", -1},
		{"standard library", "certs/ses", "std:crypto/ecdsa", false, nil, "", -1},
		{"other library", "verifier", "golang.org/x/crypto/cryptobyte", false, nil, "", -1},

		{"internal imports certs", "internal/ledger", "certs/ses", false, nil, ruleLayers, -1},
		{"certs imports verifier", "certs/qr", "verifier", false, nil, ruleLayers, -1},
		{"issuer imports cmd", "issuer/api", "cmd/elicense", true, nil, ruleLayers, -1},
		{"internal imports cmd in a test", "internal/gm", "cmd/elicense", true, nil, ruleLayers, -1},
		{"verifier imports issuer", "verifier/store", "issuer/store", false, nil, ruleSides, -1},
		{"mobile-sdk imports issuer in a test", "mobile-sdk", "issuer/wallet", true, nil, ruleSides, -1},
		{"issuer imports mobile-sdk", "issuer/wallet", "mobile-sdk", false, nil, ruleSides, -1},
		{"mobile-sdk imports verifier", "mobile-sdk/wasm", "verifier/seal", false, nil, ruleSides, -1},
		{"root package", "", "internal/gm", false, nil, ruleNoLayer, -1},
		{"new top-level directory", "tools/gen", "certs/ses", false, nil, ruleNoLayer, -1},
		{"import of a directory outside the layers", "cmd/elicense", "pkg/util", false, nil, ruleNoLayer, -1},

		{"internal/gm imports emmansun", "internal/gm", "github.com/emmansun/gmsm/sm2", false, nil, "", -1},
		{"internal/gm test imports tjfoc", "internal/gm", "github.com/tjfoc/gmsm/x509", true, nil, "", -1},
		{"certs imports emmansun", "certs/ses", "github.com/emmansun/gmsm/sm3", false, nil, ruleSM, -1},
		{"internal subpackage imports emmansun", "internal/gm/sub", "github.com/emmansun/gmsm", false, nil, ruleSM, -1},
		{"cmd imports an unlisted SM library", "cmd/elicense", "gitee.com/someone/crypto/sm2", false, nil, ruleSM, -1},
		{"issuer test imports a gmsm fork", "issuer/pki", "github.com/someone/gmsm-fork/x509", true, nil, ruleSM, -1},

		{"test imports issuertest", "verifier/counter", "internal/issuertest", true, nil, "", -1},
		{"code imports issuertest", "verifier/counter", "internal/issuertest", false, nil, ruleTestSupport, -1},
		{"code imports a package using testing", "certs/qr", "internal/newtest", false, []string{"internal/newtest"}, ruleTestSupport, -1},
		{"test support imports test support", "verifier/internal/testpki", "certs/ident/identtest", false, nil, "", -1},

		{"test-only exception, in a test", "issuer/api", "verifier/seal", true, nil, "", 0},
		{"test-only exception, in code", "issuer/api", "verifier/seal", false, nil, ruleSides, -1},
		{"exception is per importer", "issuer/service", "verifier/seal", true, nil, ruleSides, -1},
		{"prefix exception", "certs/ses", "github.com/tjfoc/gmsm/sm2", true, nil, "", 1},
		{"prefix exception, not a prefix of the element", "certs/ses", "github.com/tjfoc/gmsmx", true, nil, ruleSM, -1},
		{"code exception", "certs/trust", "issuer/pki", false, nil, "", 2},

		{"the ledger's backend imports bbolt", "internal/ledger/boltstore", "go.etcd.io/bbolt", false, nil, "", -1},
		{"the state's backend imports bbolt", "issuer/state/boltstate", "go.etcd.io/bbolt/errors", false, nil, "", -1},
		{"the service imports bbolt", "issuer/service", "go.etcd.io/bbolt", false, nil, ruleStorage, -1},
		{"the ledger imports bbolt", "internal/ledger", "go.etcd.io/bbolt", false, nil, ruleStorage, -1},
		{"a service test imports bbolt", "issuer/service", "go.etcd.io/bbolt", true, nil, ruleStorage, -1},
		{"the state imports a SQL driver", "issuer/state", "github.com/jackc/pgx/v5", false, nil, ruleStorage, -1},
		{"the API imports database/sql", "issuer/api", "std:database/sql", false, nil, ruleStorage, -1},
		{"not a prefix of the element", "issuer/api", "go.etcd.io/bboltx", false, nil, "", -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := &tree{Module: m, UsesTesting: map[string]bool{}}
			abs := func(p string) string {
				if p == "" {
					return m
				}
				if std, ok := strings.CutPrefix(p, "std:"); ok {
					return std
				}
				if strings.Contains(top(p), ".") {
					return p
				}
				return m + "/" + p
			}
			for _, p := range c.usesTest {
				tr.UsesTesting[abs(p)] = true
			}
			file := c.from + "/x.go"
			if c.test {
				file = c.from + "/x_test.go"
			}
			tr.Edges = []edge{{File: file, Line: 7, From: abs(c.from), To: abs(c.to), Test: c.test}}
			vs, used := check(tr, exc)
			var got string
			if len(vs) > 1 {
				t.Fatalf("%d violations for one import: %v", len(vs), vs)
			}
			if len(vs) == 1 {
				got = vs[0].Rule
				msg := vs[0].String()
				for _, part := range []string{file + ":7", abs(c.from), abs(c.to), got} {
					if !strings.Contains(msg, part) {
						t.Errorf("message %q does not name %q", msg, part)
					}
				}
			}
			if got != c.want {
				t.Errorf("rule %q, want %q", got, c.want)
			}
			for i := range exc {
				if used[i] != (i == c.wantExcept) {
					t.Errorf("exception %d used: %v", i, used[i])
				}
			}
		})
	}
}

// TestIssuerReach checks that no chain of imports, even through an
// excepted edge, lets a verifier or wallet package link the issuer.
func TestIssuerReach(t *testing.T) {
	const m = "example.com/m"
	e := func(from, to string, test bool) edge {
		return edge{File: from + "/a.go", Line: 1, From: m + "/" + from, To: m + "/" + to, Test: test}
	}
	for _, c := range []struct {
		name  string
		exc   []exception
		edges []edge
		want  []string // each violation's rule and chain
	}{
		{
			name:  "through an excepted certs → issuer edge",
			exc:   []exception{{From: "certs/trust", To: "issuer/pki", Reason: "r"}},
			edges: []edge{e("verifier/store", "certs/trust", false), e("certs/trust", "issuer/pki", false)},
			want:  []string{ruleNoIssuer + " " + m + "/verifier/store → " + m + "/certs/trust → " + m + "/issuer/pki"},
		},
		{
			name:  "a direct excepted edge",
			exc:   []exception{{From: "mobile-sdk", To: "issuer/wallet", Reason: "r"}},
			edges: []edge{e("mobile-sdk", "issuer/wallet", false)},
			want:  []string{ruleNoIssuer + " " + m + "/mobile-sdk → " + m + "/issuer/wallet"},
		},
		{
			name:  "an unexcepted edge is reported once, by its own rule",
			edges: []edge{e("verifier", "certs/qr", false), e("certs/qr", "issuer/api", false)},
			want:  []string{ruleLayers},
		},
		{
			name:  "test files do not link",
			exc:   []exception{{From: "verifier", To: "issuer/api", TestOnly: true, Reason: "r"}},
			edges: []edge{e("verifier", "issuer/api", true)},
		},
		{
			name:  "issuer may reach verifier",
			exc:   []exception{{From: "issuer/api", To: "verifier/seal", Reason: "r"}},
			edges: []edge{e("issuer/api", "verifier/seal", false)},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs, _ := check(&tree{Module: m, Edges: c.edges}, c.exc)
			var got []string
			for _, v := range vs {
				s := v.Rule
				if len(v.Via) > 0 {
					s += " " + strings.Join(v.Via, " → ")
				}
				got = append(got, s)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestTestdataTree runs the loader and the rules on a small module under
// testdata whose files break every rule, and wants each break reported
// against its file and line.
func TestTestdataTree(t *testing.T) {
	tr, err := load("testdata/badtree")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Module != "example.com/badtree" {
		t.Fatalf("module %q", tr.Module)
	}
	vs, _ := check(tr, nil)
	var got []string
	for _, v := range vs {
		got = append(got, v.String())
	}
	const m = "example.com/badtree"
	want := []string{
		`certs/c.go:5: ` + m + `/certs imports "github.com/emmansun/gmsm/sm2": ` + ruleSM,
		`certs/c.go:8: ` + m + `/certs imports "` + m + `/internal/helpertest": ` + ruleTestSupport,
		`internal/x/x_test.go:4: ` + m + `/internal/x imports "` + m + `/cmd/tool": ` + ruleLayers,
		`mobile-sdk/sdk.go:3: ` + m + `/mobile-sdk imports "` + m + `/verifier": ` + ruleSides,
		`mobile-sdk/wasm/main.go:5: ` + m + `/mobile-sdk/wasm imports "` + m + `/issuer": ` + ruleSides,
		`tools/t.go:3: ` + m + `/tools imports "` + m + `/internal/gm": ` + ruleNoLayer,
		`verifier/v.go:3: ` + m + `/verifier imports "` + m + `/issuer": ` + ruleSides,
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

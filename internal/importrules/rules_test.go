package importrules

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
)

// The rules, as the messages of a violation state them.
const (
	ruleLayers      = "imports flow cmd → issuer | verifier | mobile-sdk → certs → internal (a package imports only its own layer or below)"
	ruleSides       = "issuer, verifier and mobile-sdk never import each other"
	ruleNoLayer     = "every package sits under cmd, issuer, verifier, mobile-sdk, certs or internal"
	ruleSM          = "only elicense/internal/gm imports an SM2/SM3/SM4 library"
	ruleTestSupport = "test-support packages are imported only from _test.go files"
	ruleNoIssuer    = "verifier and mobile-sdk never depend on issuer, directly or through other packages"
	ruleStorage     = "only a storage backend package imports a storage engine (bbolt, a SQL driver); everything else reaches storage through internal/ledger's and issuer/state's interfaces"
)

// layers maps a module's top-level directory to its layer; a package may
// import packages of a layer not above its own. The three packages of
// layer 3 are separate sides: none imports another.
var layers = map[string]int{
	"cmd":        4,
	"issuer":     3,
	"verifier":   3,
	"mobile-sdk": 3,
	"certs":      2,
	"internal":   1,
}

// smPackage is the one package allowed to import an SM library, relative
// to the module.
const smPackage = "internal/gm"

// smLibraries are import path prefixes of SM2/SM3/SM4 implementations.
// Besides these, any import path with an element named sm2, sm3, sm4,
// smx509 or starting with gmsm counts as one (see isSMLibrary), so that a
// library not listed here is still caught.
var smLibraries = []string{
	"github.com/emmansun/gmsm",
	"github.com/tjfoc/gmsm",
	"github.com/ZZMarquis/gm",
}

// storageEngines are import path prefixes of storage engines and
// database drivers.
var storageEngines = []string{
	"go.etcd.io/bbolt",
	"github.com/jackc/pgx",
	"github.com/lib/pq",
	"database/sql",
}

// storageBackends are the packages, relative to the module, allowed to
// import a storage engine, and why each exists. A second engine adds its
// backend here (and passes issuer/state/statetest).
var storageBackends = map[string]string{
	"internal/ledger/boltstore": "the ledger's bbolt backend (ledger.Store[*bolt.Tx]): entries, hashes and checkpoints in one file whose transaction an application can share",
	"issuer/state/boltstate":    "the issuer's bbolt backend (state.Backend): the state's buckets in the ledger's file, written in the ledger's transaction",
	"issuer/state/pgstate":      "the issuer's PostgreSQL backend (state.Backend, state.Shared, ledger.SharedStore) through pgx: the state and the ledger in one schema, shared by replicas",
}

// testSupport lists, relative to the module, the packages that exist only
// for tests. Any package whose non-test files import "testing" is one too.
var testSupport = map[string]string{
	"internal/issuertest":       "builds the issuer binary (go build ./cmd/elicense) and runs it; linking it would put the issuer behind a verifier or wallet",
	"internal/browsertest":      "drives headless Chromium",
	"certs/ident/identtest":     "makes synthetic identity numbers for tests",
	"verifier/internal/testpki": "mints throwaway agency keys, credentials and bundles",
}

// An exception allows imports the rules refuse. From and To are import
// paths relative to the module (To may be a non-module path, or end in
// "/..." for everything under it). TestOnly exceptions cover _test.go
// files only.
type exception struct {
	From, To string
	TestOnly bool
	Reason   string
}

// exceptions are the imports of today's tree that the rules refuse but
// that are wanted. Every one is test-only: no production package breaks a
// rule. An exception that no longer matches an import fails the test, so
// the table cannot go stale.
var exceptions = []exception{
	{
		From: "internal/ledger", To: "go.etcd.io/bbolt", TestOnly: true,
		Reason: "the ledger's own tests run the log on its bbolt backend and damage that file's buckets to check fsck and recovery; the backend cannot host them, since the log's internals are tested in package ledger",
	},
	{
		From: "issuer/api", To: "verifier/seal", TestOnly: true,
		Reason: "the issuer's tests check that the seals it makes, and documents signed with them, verify under the independent verifier/seal, as a relying party's would",
	},
	{
		From: "issuer/ofdfile", To: "verifier/ofd", TestOnly: true,
		Reason: "the licence file's tests check that what the issuer seals verifies under the independent verifier/ofd, as any relying party's reader would, and that a changed byte does not",
	},
	{
		From: "issuer/wallet", To: "verifier", TestOnly: true,
		Reason: "the web wallet's end-to-end test verifies the QR it shows with the counter's library, as at a counter",
	},
	{
		From: "issuer/wallet", To: "verifier/store", TestOnly: true,
		Reason: "the same test syncs a counter's local copy of the issuer's state, which that verification reads",
	},
	{
		From: "issuer/wallet", To: "verifier/ofd", TestOnly: true,
		Reason: "the same test verifies the licence file the page downloaded and kept with the independent OFD verifier, as the holder's reader would",
	},
	{
		From: "issuer/wallet", To: "mobile-sdk/consenttest", TestOnly: true,
		Reason: "the web wallet's 授权用证 browser test serves the page through the fake issuer that verifies the proofs and consents the page's SDK sends",
	},
	{
		From: "mobile-sdk", To: "verifier/seal", TestOnly: true,
		Reason: "the wallet's end-to-end test checks that a document it seals with an issuer-made seal verifies under verifier/seal, and a changed one does not",
	},
	{
		From: "certs/ses", To: "github.com/tjfoc/gmsm/...", TestOnly: true,
		Reason: "interop: a second, independent SM2 implementation must read the certificates and accept the signatures ses builds; internal/gm cannot host this test, since it may not import certs",
	},
}

// An edge is one import in one file.
type edge struct {
	File string // slash-separated, relative to the module root
	Line int
	From string // import path of the file's directory
	To   string // the imported path
	Test bool   // File is a _test.go file
}

// A violation is an edge that breaks a rule.
type violation struct {
	Edge edge
	Rule string
	Via  []string // for ruleNoIssuer, the chain of packages
}

func (v violation) String() string {
	s := fmt.Sprintf("%s:%d: %s imports %q: %s", v.Edge.File, v.Edge.Line, v.Edge.From, v.Edge.To, v.Rule)
	if len(v.Via) > 0 {
		s += " (" + strings.Join(v.Via, " → ") + ")"
	}
	return s
}

// tree is the import graph of one module.
type tree struct {
	Module string
	Edges  []edge
	// UsesTesting holds the packages whose non-test files import "testing".
	UsesTesting map[string]bool
}

// rel returns p relative to the module, and whether p is in it.
func (t *tree) rel(p string) (string, bool) {
	if p == t.Module {
		return "", true
	}
	r, ok := strings.CutPrefix(p, t.Module+"/")
	return r, ok
}

// top returns the top-level directory of a module-relative path.
func top(rel string) string {
	first, _, _ := strings.Cut(rel, "/")
	return first
}

func (t *tree) isTestSupport(p string) bool {
	r, _ := t.rel(p)
	_, listed := testSupport[r]
	return listed || t.UsesTesting[p]
}

// isStorageEngine reports whether p, an import path outside the module,
// is a storage engine or database driver.
func isStorageEngine(p string) bool {
	for _, l := range storageEngines {
		if p == l || strings.HasPrefix(p, l+"/") {
			return true
		}
	}
	return false
}

// isSMLibrary reports whether p, an import path outside the module, is an
// SM2/SM3/SM4 implementation.
func isSMLibrary(p string) bool {
	for _, l := range smLibraries {
		if p == l || strings.HasPrefix(p, l+"/") {
			return true
		}
	}
	for _, e := range strings.Split(strings.ToLower(p), "/") {
		if e == "sm2" || e == "sm3" || e == "sm4" || e == "smx509" || strings.HasPrefix(e, "gmsm") {
			return true
		}
	}
	return false
}

// check returns every edge of t that breaks a rule and no exception
// allows, and which exceptions (by index) allowed some edge.
func check(t *tree, exc []exception) (vs []violation, used map[int]bool) {
	used = map[int]bool{}
	for _, e := range t.Edges {
		rule := t.rule(e)
		if rule == "" {
			continue
		}
		if i := t.excepted(e, exc); i >= 0 {
			used[i] = true
			continue
		}
		vs = append(vs, violation{Edge: e, Rule: rule})
	}
	vs = append(vs, t.issuerReach(exc)...)
	return vs, used
}

// rule returns the rule e breaks, or "".
func (t *tree) rule(e edge) string {
	from, _ := t.rel(e.From)
	to, inModule := t.rel(e.To)
	if !inModule {
		if isSMLibrary(e.To) && from != smPackage {
			return ruleSM
		}
		if _, backend := storageBackends[from]; isStorageEngine(e.To) && !backend {
			return ruleStorage
		}
		return ""
	}
	lf, okf := layers[top(from)]
	lt, okt := layers[top(to)]
	switch {
	case !okf || !okt:
		return ruleNoLayer
	case lf < lt:
		return ruleLayers
	case lf == 3 && lt == 3 && top(from) != top(to):
		return ruleSides
	case !e.Test && t.isTestSupport(e.To) && !t.isTestSupport(e.From):
		return ruleTestSupport
	}
	return ""
}

// excepted returns the index of the exception that allows e, or -1.
func (t *tree) excepted(e edge, exc []exception) int {
	from, _ := t.rel(e.From)
	to, inModule := t.rel(e.To)
	if !inModule {
		to = e.To
	}
	for i, x := range exc {
		if x.From != from || (x.TestOnly && !e.Test) {
			continue
		}
		if x.To == to {
			return i
		}
		if prefix, ok := strings.CutSuffix(x.To, "/..."); ok && (to == prefix || strings.HasPrefix(to, prefix+"/")) {
			return i
		}
	}
	return -1
}

// issuerReach follows the imports of non-test files from every verifier
// and mobile-sdk package and reports each that reaches issuer, with the
// chain. A chain is reported unless one of its edges is a violation
// reported already, so that no exception can let a verifier or the
// wallet link issuer code.
func (t *tree) issuerReach(exc []exception) []violation {
	deps := map[string][]edge{}
	for _, e := range t.Edges {
		if _, ok := t.rel(e.To); ok && !e.Test {
			deps[e.From] = append(deps[e.From], e)
		}
	}
	var vs []violation
	for _, from := range slices.Sorted(maps.Keys(deps)) {
		r, _ := t.rel(from)
		if s := top(r); s != "verifier" && s != "mobile-sdk" {
			continue
		}
		// Breadth first, remembering the edge each package was reached by.
		via := map[string]edge{from: {}}
		queue := []string{from}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if r, _ := t.rel(p); top(r) == "issuer" {
				if v, ok := t.chain(from, p, via, exc); ok {
					vs = append(vs, v)
				}
				break
			}
			for _, e := range deps[p] {
				if _, seen := via[e.To]; !seen {
					via[e.To] = e
					queue = append(queue, e.To)
				}
			}
		}
	}
	return vs
}

// chain returns the violation for the path from → … → to recorded in via,
// unless an edge on it is a violation reported on its own.
func (t *tree) chain(from, to string, via map[string]edge, exc []exception) (violation, bool) {
	pkgs := []string{to}
	var first edge
	for q := to; q != from; q = via[q].From {
		first = via[q]
		if t.rule(first) != "" && t.excepted(first, exc) < 0 {
			return violation{}, false
		}
		pkgs = append([]string{first.From}, pkgs...)
	}
	return violation{Edge: first, Rule: ruleNoIssuer, Via: pkgs}, true
}

// dirOf returns the module import path of a slash-separated file path
// relative to the module root.
func dirOf(module, file string) string {
	d := path.Dir(file)
	if d == "." {
		return module
	}
	return module + "/" + d
}

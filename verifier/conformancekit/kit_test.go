package conformancekit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/qr"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/verifier"
)

// kitDir is the conformance kit, relative to this package.
const kitDir = "../../conformance"

// vectorFile is the schema of one vector file (conformance/README.md).
type vectorFile struct {
	Kind    string   `json:"kind"`
	Vectors []vector `json:"vectors"`
}

type vector struct {
	ID          string          `json:"id"`
	Rules       []string        `json:"rules"`
	Description string          `json:"description"`
	Now         time.Time       `json:"now"`
	Input       json.RawMessage `json:"input"`
	Expected    string          `json:"expected"`
	// Unprotected: ofd vectors, the shown files a verifier must warn
	// about (OFD-07).
	Unprotected []string `json:"unprotected"`
}

type kitContext struct {
	Now     time.Time         `json:"now"`
	RootPEM string            `json:"root_pem"`
	Bundle  string            `json:"bundle"`
	Lists   map[string]string `json:"status_lists"`
	Genuine map[string][]byte `json:"genuine_sets"`
	Ledger  string            `json:"ledger_vkey"`
	// Catalogue is the catalogue the vectors are judged against.
	Catalogue json.RawMessage `json:"catalogue"`
}

// env is the trust data of context.json, verified as a counter would.
type env struct {
	ctx   kitContext
	roots []*gm.Certificate
	state verifier.State
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kitDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func loadEnv(t testing.TB) *env {
	t.Helper()
	e := &env{}
	readJSON(t, "context.json", &e.ctx)
	var err error
	if e.roots, err = gm.ParseCertificatesPEM([]byte(e.ctx.RootPEM)); err != nil {
		t.Fatal(err)
	}
	b, err := trust.Verify(e.ctx.Bundle, trust.VerifyOptions{Roots: e.roots, Now: e.ctx.Now})
	if err != nil {
		t.Fatalf("context bundle: %v", err)
	}
	e.state = verifier.State{Bundle: b, Lists: map[string]*statuslist.Signed{}, Genuine: map[string]*trust.GenuineSet{}}
	for id, tok := range e.ctx.Lists {
		sl, _ := b.StatusList(id)
		s, err := statuslist.Parse(tok, statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(id), Now: e.ctx.Now})
		if err != nil {
			t.Fatalf("context list %s: %v", id, err)
		}
		e.state.Lists[id] = s
	}
	for kid, doc := range e.ctx.Genuine {
		g, err := b.VerifyGenuineSet(kid, doc)
		if err != nil {
			t.Fatalf("context genuine set %s: %v", kid, err)
		}
		e.state.Genuine[kid] = g
	}
	return e
}

// TestKitCatalogue checks that the catalogue the kit ships (context.json
// catalogue) is a valid catalogue and the one this verifier judges by.
func TestKitCatalogue(t *testing.T) {
	e := loadEnv(t)
	if _, err := catalog.Parse(e.ctx.Catalogue); err != nil {
		t.Fatalf("context.json catalogue: %v", err)
	}
	var got, want bytes.Buffer
	if err := json.Compact(&got, e.ctx.Catalogue); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&want, catalog.DefaultJSON()); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Error("context.json catalogue is not certs/catalog/classes.json: regenerate the kit")
	}
}

// deviations returns the known deviations: vector ID → the reference
// verifier's verdict.
func deviations(t testing.TB) map[string]string {
	var doc struct {
		Deviations []struct {
			Vector    string `json:"vector"`
			Expected  string `json:"expected"`
			Reference string `json:"reference_verdict"`
		} `json:"deviations"`
	}
	readJSON(t, "known-deviations.json", &doc)
	m := map[string]string{}
	for _, d := range doc.Deviations {
		m[d.Vector] = d.Reference
	}
	return m
}

// vectorFiles returns every vector file of the kit by name.
func vectorFiles(t testing.TB) map[string]*vectorFile {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(kitDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*vectorFile{}
	for _, n := range names {
		base := filepath.Base(n)
		switch base {
		case "context.json", "exemptions.json", "known-deviations.json":
			continue
		}
		var f vectorFile
		readJSON(t, base, &f)
		if f.Kind == "" || len(f.Vectors) == 0 {
			t.Errorf("%s: no kind or no vectors", base)
		}
		out[base] = &f
	}
	return out
}

// runner grades one vector: the verdict the project's code gives.
type runner func(t *testing.T, e *env, v vector) string

var runners = map[string]runner{
	"qr-static":    runQR,
	"qr-bound":     runQR,
	"disclosures":  runQR,
	"credential":   runCredential,
	"identifiers":  runValue,
	"fields":       runValue,
	"standards":    runStandard,
	"status":       runStatus,
	"trust":        runTrust,
	"ledger":       runLedger,
	"seals":        runSeal,
	"ofd":          runOFD,
	"grants":       runGrant,
	"certificates": runCert,
	"catalogue":    runCatalogue,
}

// TestKit runs every vector of the kit through the project's verifiers.
func TestKit(t *testing.T) {
	e := loadEnv(t)
	dev := deviations(t)
	seenDev := map[string]bool{}
	ids := map[string]bool{}
	for name, f := range vectorFiles(t) {
		run, ok := runners[f.Kind]
		if !ok {
			t.Errorf("%s: no runner for kind %q", name, f.Kind)
			continue
		}
		for _, v := range f.Vectors {
			if ids[v.ID] {
				t.Errorf("%s: vector ID %s twice", name, v.ID)
			}
			ids[v.ID] = true
			got := run(t, e, v)
			want := v.Expected
			if ref, ok := dev[v.ID]; ok {
				seenDev[v.ID] = true
				if got == want {
					t.Errorf("%s: known deviation fixed (now %s): remove it from known-deviations.json", v.ID, got)
					continue
				}
				want = ref
			}
			if got != want {
				t.Errorf("%s %s (%s): got %s, want %s", name, v.ID, v.Description, got, want)
			}
		}
	}
	for id := range dev {
		if !seenDev[id] {
			t.Errorf("known deviation %s names no vector", id)
		}
	}
}

// ruleRow matches a row of the rules.md table.
var ruleRow = regexp.MustCompile(`(?m)^\| ([A-Z]+-[0-9]{2}) \|`)

// TestEveryRuleHasAVector fails when a rule of docs/spec/rules.md has no
// vector and no exemption, or a vector or exemption names no rule.
func TestEveryRuleHasAVector(t *testing.T) {
	data, err := os.ReadFile("../../docs/spec/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, m := range ruleRow.FindAllStringSubmatch(string(data), -1) {
		rules[m[1]] = true
	}
	if len(rules) < 200 {
		t.Fatalf("read only %d rules from rules.md", len(rules))
	}
	covered := map[string]int{}
	for name, f := range vectorFiles(t) {
		for _, v := range f.Vectors {
			if len(v.Rules) == 0 {
				t.Errorf("%s %s: names no rule", name, v.ID)
			}
			for _, r := range v.Rules {
				if !rules[r] {
					t.Errorf("%s %s: rule %s is not in rules.md", name, v.ID, r)
				}
				covered[r]++
			}
		}
	}
	var ex struct {
		Exemptions []struct{ Rule, Kind, Reason string } `json:"exemptions"`
	}
	readJSON(t, "exemptions.json", &ex)
	exempt := map[string]bool{}
	kinds := map[string]int{}
	for _, x := range ex.Exemptions {
		kinds[x.Kind]++
		if !slices.Contains([]string{"producer", "process", "not-observable", "pending"}, x.Kind) {
			t.Errorf("exemption %s: unknown kind %q", x.Rule, x.Kind)
		}
		if !rules[x.Rule] {
			t.Errorf("exemption %s is not a rule", x.Rule)
		}
		if strings.TrimSpace(x.Reason) == "" {
			t.Errorf("exemption %s gives no reason", x.Rule)
		}
		if covered[x.Rule] > 0 {
			t.Errorf("exemption %s has %d vectors: remove the exemption", x.Rule, covered[x.Rule])
		}
		exempt[x.Rule] = true
	}
	var missing []string
	for r := range rules {
		if covered[r] == 0 && !exempt[r] {
			missing = append(missing, r)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d rules have no vector and no exemption: %s", len(missing), strings.Join(missing, " "))
	}
	t.Logf("%d rules: %d covered, %d exempt %v", len(rules), len(rules)-len(missing)-len(exempt), len(exempt), kinds)
}

// --- QR ---

type qrInput struct {
	Text  string   `json:"text"`
	Trust string   `json:"trust"`
	Prior []string `json:"prior"`
}

func runQR(t *testing.T, e *env, v vector) string {
	var in qrInput
	mustInput(t, v, &in)
	st := e.state
	if in.Trust == "none" {
		st = verifier.State{}
	}
	ver := verifier.New(st, verifier.Options{})
	for _, p := range in.Prior {
		ver.Verify(p, v.Now)
	}
	return string(ver.Verify(in.Text, v.Now).Code)
}

func mustInput(t *testing.T, v vector, in any) {
	t.Helper()
	if err := json.Unmarshal(v.Input, in); err != nil {
		t.Fatalf("%s: input: %v", v.ID, err)
	}
}

// --- credentials ---

func runCredential(t *testing.T, e *env, v vector) string {
	var in struct {
		JWS string `json:"jws"`
	}
	mustInput(t, v, &in)
	b := e.state.Bundle
	l, err := credential.Verify(in.JWS, credential.VerifyOptions{Keys: b.ResolverWith(e.state.Genuine), Now: v.Now})
	if err != nil {
		return string(credentialCode(err))
	}
	if l.Status == nil {
		return string(verifier.StatusUnavailable)
	}
	sl, ok := b.StatusListByURI(l.Status.URI)
	if !ok {
		return string(verifier.StatusUnavailable)
	}
	list, ok := e.state.Lists[sl.ID]
	if !ok {
		return string(verifier.StatusUnavailable)
	}
	code := statusCode(list, int(l.Status.Index), "VALID")
	if code != "VALID" {
		return code
	}
	// STATUS-19 applies to a credential's status as to a QR token's
	// (CRED-20): stale data of a fail-closed class decides nothing.
	cl, ok := catalog.Default().Lookup(l.Class)
	if !ok {
		t.Fatalf("%s: no class %s", v.ID, l.Class)
	}
	if stale := list.Age(v.Now) > cl.MaxStatusStaleness || list.Expired(v.Now); stale && cl.StalePolicy != catalog.StaleWarn {
		return string(verifier.StatusStale)
	}
	return code
}

// statusCode reads entry idx of list: the verdict it gives, ok for 0.
func statusCode(list *statuslist.Signed, idx int, ok string) string {
	st, err := list.Status(idx)
	if err != nil {
		return string(verifier.StatusUnavailable)
	}
	switch st {
	case statuslist.Revoked:
		return string(verifier.Revoked)
	case statuslist.Suspended:
		return string(verifier.Suspended)
	case statuslist.Superseded:
		return string(verifier.Superseded)
	}
	return ok
}

// credentialCode is the verdict for a credential.Verify error, as
// verifier.Verifier maps it.
func credentialCode(err error) verifier.Code {
	for _, m := range []struct {
		err  error
		code verifier.Code
	}{
		{credential.ErrUnknownKey, verifier.UnknownIssuer},
		{credential.ErrKeyCompromised, verifier.KeyCompromised},
		{credential.ErrKeyRetired, verifier.KeyRetired},
		{credential.ErrClassNotAllowed, verifier.ClassNotAllowedForIssuer},
		{credential.ErrIssuerMismatch, verifier.ClassNotAllowedForIssuer},
		{credential.ErrBadSignature, verifier.BadSignature},
		{credential.ErrExpired, verifier.Expired},
		{credential.ErrKeyNotValid, verifier.Expired},
		{credential.ErrNotYetValid, verifier.NotYetValid},
		{qr.ErrUnsupportedVersion, verifier.UnsupportedVersion},
	} {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return verifier.Malformed
}

// reject names a rejection as rules.md writes it: reject:<pkg>.<Err>.
func reject(err error, sentinels map[string]error) string {
	names := make([]string, 0, len(sentinels))
	for n := range sentinels {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if errors.Is(err, sentinels[n]) {
			return "reject:" + n
		}
	}
	return "reject:unknown(" + err.Error() + ")"
}

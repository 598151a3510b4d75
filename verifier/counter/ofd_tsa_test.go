package counter_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/internal/browsertest"
	"elicense/internal/gm"
	"elicense/verifier/counter"
	"elicense/verifier/internal/testpki"
	vofd "elicense/verifier/ofd"
	"elicense/verifier/seal"
)

// kitVector is an OFD vector of conformance/ofd.json.
type kitVector struct {
	ID       string
	Rules    []string
	Expected string
	Input    struct {
		File         []byte // base64 in the JSON
		RevokedSeals []struct {
			ESID  string
			Since time.Time
		} `json:"revoked_seals"`
	}
}

// kitStamped is the conformance kit's OFD vector of a licence file whose
// seal was revoked after a time-stamp from a TSA under the kit's root
// (SEAL-15, SEAL-16), with the trust it is verified with: the kit's root
// as the maker's root and the seal's revocation as a bundle lists it.
// The TSA roots are left to the test.
func kitStamped(t *testing.T) ([]byte, vofd.Options) {
	t.Helper()
	var kit struct{ Vectors []kitVector }
	if err := json.Unmarshal(must(os.ReadFile("../../conformance/ofd.json")), &kit); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(kit.Vectors, func(v kitVector) bool {
		return slices.Contains(v.Rules, "SEAL-15") && slices.Contains(v.Rules, "SEAL-16") && v.Expected == "ofd:VALID" && len(v.Input.RevokedSeals) > 0
	})
	if i < 0 {
		t.Fatal("conformance/ofd.json has no vector of a seal revoked after a trusted time-stamp")
	}
	v := kit.Vectors[i]
	roots := must(gm.ParseCertificatesPEM(must(os.ReadFile("../../conformance/root.pem"))))
	status := seal.SealStatusFunc(func(esid string) (bool, time.Time, bool) {
		for _, r := range v.Input.RevokedSeals {
			if r.ESID == esid {
				return true, r.Since, true
			}
		}
		return false, time.Time{}, true
	})
	return v.Input.File, vofd.Options{Roots: roots, Status: status}
}

// TestOFDTimestampAPI: the TSA roots OFDTrust gives decide whether a
// seal's time-stamp is trusted, and so whether a seal revoked after it is
// REVOKED or VALID; each signature says which (timestamp_trusted), and
// why not in a note.
func TestOFDTimestampAPI(t *testing.T) {
	f := newFixture(t)
	file, opts := kitStamped(t)
	other := []*gm.Certificate{must(testpki.New(time.Now())).Root} // a root that certified no TSA
	for _, tc := range []struct {
		name     string
		tsaRoots []*gm.Certificate
		code     vofd.Verdict
		trusted  bool
		stamped  bool // timestamp_at set
	}{
		{"no TSA root", nil, vofd.Revoked, false, true},
		{"the TSA's root", opts.Roots, vofd.Valid, true, true},
		// An authority under none of the TSA roots: untrusted, as with
		// none (SEAL-16 item 5), so the revocation counts; not refused.
		{"another root", other, vofd.Revoked, false, true},
	} {
		o := opts
		o.TSARoots = tc.tsaRoots
		f.setOFDTrust(o, nil)
		var res counter.OFDResult
		if st := f.postOFD(t, "", file, &res); st != 200 || res.Code != tc.code || len(res.Signatures) != 1 {
			t.Fatalf("%s: %d %s %+v", tc.name, st, res.Code, res.Signatures)
		}
		s := res.Signatures[0]
		if s.TimestampTrusted != tc.trusted || s.TimestampAt.IsZero() == tc.stamped {
			t.Errorf("%s: time-stamp %v trusted %v", tc.name, s.TimestampAt, s.TimestampTrusted)
		}
		why := slices.ContainsFunc(s.Notes, func(n string) bool { return strings.Contains(n, "does not chain to a pinned TSA root") })
		if why != (tc.tsaRoots != nil && !tc.trusted) {
			t.Errorf("%s: notes %q", tc.name, s.Notes)
		}
	}
}

// TestOFDTimestampInBrowser: the page shows, under a seal, its
// time-stamp and whether it was trusted.
func TestOFDTimestampInBrowser(t *testing.T) {
	ctx := browsertest.Open(t, 1280, 900)
	p := &ofdPage{t: t, ctx: ctx, tab: &browsertest.Tab{T: t, Ctx: ctx, Timeout: 15 * time.Second}}
	f := newFixture(t)
	file, opts := kitStamped(t)
	// Two names: picking the same file again would not be a change.
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "licence.ofd"), filepath.Join(dir, "licence-again.ofd")}
	for _, path := range paths {
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p.open(f.URL)
	p.tab.Click("#ofd-asof") // checked now: the revocation counts
	facts := func() string {
		got := p.sigs(".sig-facts")
		if len(got) != 1 {
			t.Fatalf("signatures %q", got)
		}
		return got[0]
	}
	f.setOFDTrust(opts, nil)
	p.upload(paths[0])
	p.code("REVOKED")
	if got := facts(); !strings.Contains(got, "时间戳") || !strings.Contains(got, "未采信") {
		t.Errorf("no TSA root: facts %q", got)
	}
	opts.TSARoots = opts.Roots
	f.setOFDTrust(opts, nil)
	p.upload(paths[1])
	p.code("VALID")
	if got := facts(); !strings.Contains(got, "时间戳") || !strings.Contains(got, "· 可信") {
		t.Errorf("the TSA's root: facts %q", got)
	}
}

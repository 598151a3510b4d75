package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"elicense/certs/consent"
	"elicense/internal/issuertest"
	"elicense/mobile-sdk/consenttest"
)

// TestConsentCLI is 授权用证 on the command line against a fake issuer
// (mobile-sdk/consenttest, which verifies the proofs and consents the
// wallet sends) in front of the real one: consent with and without
// confirmation, narrowed fields, refusal, grants and their revocation,
// and the uses with their ticks.
func TestConsentCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer")
	}
	f := consenttest.New(t)
	s := issuertest.StartWith(t, "--public-url", f.URL)
	f.Front(t, s.URL, s.Data)
	c := &consentCLI{
		f:   f,
		bl:  s.Issue(t, "business-license"),
		dir: filepath.Join(t.TempDir(), "wallet"),
		env: []string{passphraseEnv + "=correct horse", "LC_ALL=zh_CN.UTF-8"},
	}
	c.id = claimedID(t, c.run(t, 0, "claim", "--json", "--server", f.URL, "--trust-root", filepath.Join(s.Data, "pki", "root.crt.pem"), c.bl.ClaimCode).stdout)
	f.AfterClaims(t)

	c.consentConfirmed(t)
	c.consentYesAndRefuse(t)
	c.grants(t)
	c.uses(t)
}

// consentCLI is the state TestConsentCLI's steps share: the fake issuer,
// the licence it issued, the wallet's directory and environment, and the
// copy claimed.
type consentCLI struct {
	f   *consenttest.Issuer
	bl  issuertest.Issued
	dir string
	env []string
	id  string
}

// run runs the wallet on the session's directory and expects exit code.
func (c *consentCLI) run(t *testing.T, code int, args ...string) result {
	t.Helper()
	return wallet(t, c.env, append(args, "--dir", c.dir)...).want(t, code)
}

// consentConfirmed shows a request, first not confirmed (nothing is
// sent), then confirmed on stdin with narrowed fields; answering it again
// fails.
func (c *consentCLI) consentConfirmed(t *testing.T) {
	f := c.f
	// Shown, then not confirmed: nothing is sent.
	req, link := f.NewRequest(t, consenttest.Req{})
	stdinText = "n\n"
	r := c.run(t, 1, "consent", link)
	for _, want := range []string{consenttest.RPName, consenttest.OrgName, consenttest.MName, "营业执照", "legal_rep", "法定代表人: 核对法定代表人", "7 天", "仅一次", "Can answer: 1 " + c.bl.ID + "\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("consent shows no %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "[y/N]") || !strings.Contains(r.stderr, "did not confirm") || f.RequestState(req) != "pending" {
		t.Fatalf("unconfirmed consent: %s, request %s", r.stderr, f.RequestState(req))
	}
	// Confirmed on stdin, narrowed to two fields, with the licence ID
	// printed on the licence.
	stdinText = "y\n"
	r = c.run(t, 0, "consent", "--licence", c.bl.ID, "--fields", "name,domicile", link)
	_, copyID, fields := f.GrantState(grantOf(r.stdout))
	if f.RequestState(req) != "granted" || copyID != c.id || strings.Join(fields, ",") != "name,domicile" {
		t.Fatalf("consent: request %s, grant of %q %v\n%s", f.RequestState(req), copyID, fields, r.stdout)
	}
	// Answered already: the holder's message, exit 1.
	if r := c.run(t, 1, "consent", "--yes", link); !strings.Contains(r.stderr, "granted") {
		t.Errorf("answering a granted request: %s", r.stderr)
	}
}

// consentYesAndRefuse grants every field for repeat use with --yes,
// refuses another request, and rejects bad usage.
func (c *consentCLI) consentYesAndRefuse(t *testing.T) {
	f := c.f
	// --yes, every field, repeat use.
	_, link2 := f.NewRequest(t, consenttest.Req{Use: consent.UseRepeat})
	if r := c.run(t, 0, "consent", "--yes", link2); !strings.Contains(r.stdout, "granted g_") || !strings.Contains(r.stdout, "name,legal_rep,domicile") {
		t.Fatalf("consent --yes: %s", r.stdout)
	}
	// Refused.
	req3, link3 := f.NewRequest(t, consenttest.Req{})
	if r := c.run(t, 0, "consent", "--refuse", "--yes", link3); !strings.HasSuffix(r.stdout, "\nrefused\n") || f.RequestState(req3) != "refused" {
		t.Fatalf("refuse: %s, request %s", r.stdout, f.RequestState(req3))
	}
	c.run(t, 2, "consent", "--refuse", "--fields", "name", link3)
	c.run(t, 2, "consent")
}

// grants lists both grants, then revokes the repeat one.
func (c *consentCLI) grants(t *testing.T) {
	var grants []struct{ ID, State, Use string }
	if err := json.Unmarshal([]byte(c.run(t, 0, "grants", "--json").stdout), &grants); err != nil || len(grants) != 2 {
		t.Fatalf("grants --json: %v %+v", err, grants)
	}
	var repeat string
	for _, g := range grants {
		if g.Use == "repeat" {
			repeat = g.ID
		}
	}
	if r := c.run(t, 0, "grants", c.bl.ID); !strings.Contains(r.stdout, repeat) || !strings.Contains(r.stdout, "active") || !strings.Contains(r.stdout, consenttest.RPName+" · "+consenttest.MName) {
		t.Errorf("grants table:\n%s", r.stdout)
	}
	if r := c.run(t, 0, "grants", "revoke", repeat); strings.TrimSpace(r.stdout) != "revoked "+repeat {
		t.Errorf("grants revoke: %s", r.stdout)
	}
	if st, _, _ := c.f.GrantState(repeat); st != "revoked" {
		t.Fatalf("grant %s after grants revoke", st)
	}
	if r := c.run(t, 1, "grants", "revoke", "g_AAAAAAAAAAAAAAAAAAAAAA"); !strings.Contains(r.stderr, "no licence in this wallet has grant") {
		t.Errorf("revoking an unknown grant: %s", r.stderr)
	}
}

// uses lists the uses, every one ticked; a lying list is caught.
func (c *consentCLI) uses(t *testing.T) {
	c.f.CounterVerified(t, c.id, c.id, "浦东新区市民中心 3号窗口", "VALID")
	r := c.run(t, 0, "uses")
	if n := strings.Count(r.stdout, "✓"); n != 5 || strings.Contains(r.stdout, "✗") || !strings.Contains(r.stdout, "浦东新区市民中心 3号窗口") || !strings.Contains(r.stdout, "grant-revoked") {
		t.Fatalf("uses (%d ticks):\n%s", n, r.stdout)
	}
	c.f.SetLieUses(func(all []map[string]any) { all[len(all)-1]["counter"] = "别处" })
	if r := c.run(t, 1, "uses", c.id); !strings.Contains(r.stdout, "✗") || !strings.Contains(r.stderr, "1 of 5 uses did not verify") {
		t.Fatalf("lying uses:\n%s\n%s", r.stdout, r.stderr)
	}
}

// grantOf is the grant id in consent's "granted g_…: …" line.
func grantOf(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "granted "); ok {
			id, _, _ := strings.Cut(rest, ":")
			return id
		}
	}
	return ""
}

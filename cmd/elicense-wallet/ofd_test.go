package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"elicense/certs/ofd"
	"elicense/internal/issuertest"
)

// TestOFDCommand claims a licence and downloads its OFD file by the
// printed licence ID and by the wallet's copy ID.
func TestOFDCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer")
	}
	s := issuertest.Start(t)
	bl := s.Issue(t, "business-license")
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "wallet")
	env := []string{passphraseEnv + "=correct horse"}
	id := claimedID(t, wallet(t, env, "claim", "--json", "--dir", dir, "--server", s.URL, bl.ClaimCode).want(t, 0).stdout)
	for _, name := range []string{bl.ID, id, "1"} {
		out := filepath.Join(tmp, "licence.ofd")
		os.Remove(out)
		r := wallet(t, env, "ofd", "--dir", dir, name, "--out", out).want(t, 0)
		if !strings.Contains(r.stdout, "wrote "+out) {
			t.Errorf("stdout %q", r.stdout)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ofd.Open(data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cd := p.Root.Bodies[0].CustomData; len(cd) == 0 || cd[0].Name != "证照标识" || cd[0].Value != bl.ID {
			t.Fatalf("metadata %v", cd)
		}
	}
	if r := wallet(t, env, "ofd", "--dir", dir, id).want(t, 2); !strings.Contains(r.stderr, "--out is required") {
		t.Errorf("no --out: %q", r.stderr)
	}
	if r := wallet(t, env, "ofd", "--dir", dir, "--out", filepath.Join(tmp, "x.ofd"), "1.2.3").want(t, 1); !strings.Contains(r.stderr, "本证照包中没有这份证照") || !strings.Contains(r.stderr, "detail: mobilesdk: no such licence") {
		t.Errorf("unknown licence: %q", r.stderr)
	}
}

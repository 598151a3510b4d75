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
	if r := wallet(t, env, "ofd", "--help").want(t, 0); !strings.Contains(r.stdout, "Usage: elicense-wallet ofd --out FILE LICENCE") {
		t.Errorf("the usage does not show --out as required: %q", r.stdout)
	}
	if r := wallet(t, env, "ofd", "--dir", dir, "--out", filepath.Join(tmp, "x.ofd"), "1.2.3").want(t, 1); !strings.Contains(r.stderr, "本证照包中没有这份证照") || !strings.Contains(r.stderr, "detail: mobilesdk: no such licence") {
		t.Errorf("unknown licence: %q", r.stderr)
	}

	// Suspended: the holder is told the issuer seals no file of it, and
	// why, not that a claim was refused.
	if st := s.Call(t, "POST", "/v1/licences/"+bl.ID+"/suspend", s.Operator(t, "business-license"), map[string]string{"reason": "核查"}, nil); st != 200 {
		t.Fatalf("suspend: %d", st)
	}
	out := filepath.Join(tmp, "suspended.ofd")
	r := wallet(t, append(env, "LC_ALL=zh_CN.UTF-8"), "ofd", "--dir", dir, "--out", out, "1").want(t, 1)
	if !strings.Contains(r.stderr, "不为它加盖电子印章") || !strings.Contains(r.stderr, "is suspended") ||
		strings.Contains(r.stderr, "不能领取") || strings.Contains(r.stderr, "claim refused") {
		t.Errorf("suspended licence: %q", r.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a file was written for a suspended licence: %v", err)
	}
}

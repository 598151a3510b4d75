package service

import (
	"strings"
	"testing"
	"time"

	"elicense/issuer/store"
)

func TestClaimCodeFormat(t *testing.T) {
	secret := "ABCDEFGHJKMNP"
	for _, n := range []uint64{0, 1, 31, 32, 1 << 30, store.MaxClaimTicket} {
		code := claimCode(n, secret)
		if len(code) != 24 || strings.Count(code, "-") != 4 {
			t.Fatalf("claimCode(%d) = %q, want five groups of four", n, code)
		}
		for _, typed := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", " "), strings.ReplaceAll(code, "-", "")} {
			gn, gs, ok := parseClaimCode(typed)
			if !ok || gn != n || gs != secret {
				t.Fatalf("parseClaimCode(%q) = %d %q %v, want %d %q", typed, gn, gs, ok, n, secret)
			}
		}
	}
	// Look-alikes read as the digits they resemble.
	if n, s, ok := parseClaimCode("OOOO-OOI-ABCD-EFGH-JKMN-P"); !ok || n != 1 || s != "ABCDEFGHJKMNP" {
		t.Fatalf("look-alikes: %d %q %v", n, s, ok)
	}
	if n, _, ok := parseClaimCode("0000-0L00-0000-0000-0000"); !ok || n != 32 {
		t.Fatalf("L as 1: %d %v", n, ok)
	}
	for _, bad := range []string{"", "7K3Q-M9PX-2RTB-8WHN", "0000-0000-0000-0000-000", "0000-0000-0000-0000-00000", "0000-0000-0000-0000-000U", "0000-0000-0000-0000-000!"} {
		if _, _, ok := parseClaimCode(bad); ok {
			t.Errorf("parseClaimCode(%q) accepted", bad)
		}
	}
}

func TestClaimTicketSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		secret, c := newClaimTicket("id", time.Now())
		if len(secret) != claimSecretLen || strings.Trim(secret, claimAlphabet) != "" {
			t.Fatalf("secret %q", secret)
		}
		if seen[secret] || len(c.Salt) != 16 {
			t.Fatalf("secret repeated or salt of %d bytes", len(c.Salt))
		}
		seen[secret] = true
		if v := claimVerifier(c.Salt, secret); string(v[:]) != string(c.Verifier) {
			t.Fatal("verifier does not match its secret")
		}
		if v := claimVerifier(c.Salt, secret[:12]+"0"); string(v[:]) == string(c.Verifier) && secret[12] != '0' {
			t.Fatal("another secret matches the verifier")
		}
	}
}

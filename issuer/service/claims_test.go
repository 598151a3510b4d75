package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	json "github.com/go-json-experiment/json"

	"elicense/certs/credential"
	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/issuer/state"
	"elicense/issuer/state/boltstate"
)

func TestClaimCodeFormat(t *testing.T) {
	secret := "ABCDEFGHJKMNP"
	for _, n := range []uint64{0, 1, 31, 32, 1 << 30, state.MaxClaimTicket} {
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

// TestStoredCredentialsCompact: every class's licence is stored in the
// compact layout without its fields (the record has them), small enough that two share a 4 KB page where most
// classes are concerned, and reads back as the very credential and QR
// core it was issued with.
func TestStoredCredentialsCompact(t *testing.T) {
	e := openEnv(t, t.TempDir())
	defer e.close(t)
	for class, fields := range samples(t) {
		issued, err := e.svc.Issue(context.Background(), operatorFor(t, e.pki, class), IssueRequest{Class: class, Fields: fields})
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		// The layout is the bbolt backend's; every backend must read the
		// licence back as issued (below).
		if bs, ok := e.data.Backend.(*boltstate.Store); ok {
			checkCompactLayout(t, bs, class, issued)
		}
		got, err := e.store.Get(issued.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Credential != issued.Credential {
			t.Fatalf("%s: credential read back differs", class)
		}
		want, _ := issued.Holding.Static()
		if text, err := got.Holding.Static(); err != nil || text != want {
			t.Fatalf("%s: static QR read back %q, %v; issued %q", class, text, err, want)
		}
		if !reflect.DeepEqual(got.Holding, issued.Holding) {
			t.Fatalf("%s: QR core read back\n%+v\nissued\n%+v", class, got.Holding, issued.Holding)
		}
	}
}

// checkCompactLayout checks the bbolt backend stored an issued licence's
// credential in layout 3 (compact, without the fields), smaller than the
// JWS and the QR core's JSON.
func checkCompactLayout(t *testing.T, bs *boltstate.Store, class string, issued *Issued) {
	t.Helper()
	stored, err := bs.StoredCredential(issued.LedgerIndex)
	if err != nil || len(stored) == 0 || stored[0] != 3 {
		t.Fatalf("%s: stored credential %.1x…, want layout 3 (compact, without the fields)", class, stored)
	}
	if fj := credential.AppendFieldsJSON(nil, issued.Fields); bytes.Contains(stored, fj) {
		t.Errorf("%s: the fields' JSON is stored with the credential", class)
	}
	qj, err := json.Marshal(issued.Holding)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) > len(issued.Credential)+len(qj)*2/3 {
		t.Errorf("%s: %d bytes stored for a %d-byte JWS and %d bytes of QR core JSON", class, len(stored), len(issued.Credential), len(qj))
	}
	t.Logf("%s: %d bytes stored (JWS %d, QR core JSON %d)", class, len(stored), len(issued.Credential), len(qj))
}

func TestChallenges(t *testing.T) {
	now := time.Unix(2_000_000_000, 0)
	s := &Service{now: func() time.Time { return now }}
	c, exp := s.Challenge()
	if !exp.Equal(now.Add(ChallengeTTL)) || !s.checkChallenge(c) {
		t.Fatalf("fresh challenge %q (expires %v) refused", c, exp)
	}
	c2, _ := s.Challenge()
	if c2 == c {
		t.Fatal("two challenges alike")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(c)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	other := &Service{now: s.now}
	oc, _ := other.Challenge()
	for name, bad := range map[string]string{
		"empty": "", "not base64": "!!!", "short": c[:20], "long": c + "AA",
		"later expiry": flip(7), "other nonce": flip(12), "other MAC": flip(30),
		"another service's": oc,
	} {
		if s.checkChallenge(bad) {
			t.Errorf("%s challenge accepted", name)
		}
	}
	now = exp
	if !s.checkChallenge(c) {
		t.Fatal("challenge refused at its expiry")
	}
	now = exp.Add(time.Second)
	if s.checkChallenge(c) {
		t.Fatal("expired challenge accepted")
	}
}

// TestCopyIDKeyed: a copy's identifier cannot be computed from the
// licence ID and the device's public key alone (every counter sees the
// key), and one device's copies of two licences share no tag.
func TestCopyIDKeyed(t *testing.T) {
	k1, _ := ledgerevent.NewAuditKey(bytes.Repeat([]byte{1}, ledgerevent.AuditKeySize))
	k2, _ := ledgerevent.NewAuditKey(bytes.Repeat([]byte{2}, ledgerevent.AuditKeySize))
	dev := append([]byte{2}, bytes.Repeat([]byte{7}, 32)...)
	a, b := "1.2.156.3005.2.X.Y.A.001.Z", "1.2.156.3005.2.X.Y.B.001.Z"
	unkeyed := gm.SM3(append(append([]byte("elicense/copy-tag/v1\x00"+a), 0), dev...))
	switch id := copyIDOf(k1, a, dev); {
	case id != copyIDOf(k1, a, dev):
		t.Fatal("copy identifiers are not stable")
	case id == copyIDOf(k2, a, dev):
		t.Fatal("the copy tag does not depend on the audit key")
	case id == a+"#"+hex.EncodeToString(unkeyed[:8]):
		t.Fatal("the copy tag is the unkeyed digest")
	case id[len(a)+1:] == copyIDOf(k1, b, dev)[len(b)+1:]:
		t.Fatal("one device's copies of two licences share a tag")
	}
}

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/certs/trust"
	"elicense/internal/gm"
)

// TestKeyRotationAndCompromise: a licence signed before a rotation stays
// valid (retired key); once the old key is declared compromised since
// before it was signed, counters reject it; licences of the new key are
// unaffected.
func TestKeyRotationAndCompromise(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data)
	admin := readToken(t, data)
	const agency = "11310000PDY100010H" // 营业执照
	body := map[string]any{"class": "business-license", "agency": agency, "fields": loadSamples(t)["business-license"]}
	issue := func(s *server) string {
		var l struct{ Credential string }
		if st := s.call(t, "POST", "/v1/licences", admin, body, &l); st != 201 {
			t.Fatalf("issue: %d", st)
		}
		return l.Credential
	}
	first := issue(s)
	signedAt := time.Now()
	// A running server holds the ledger: the key command refuses at once.
	r := elicense(t, []string{"ELICENSE_PASSPHRASE_FILE=" + filepath.Join(data, "passphrase")}, "key", "rotate", "--agency", agency, "--data", data)
	r.want(t, 1)
	s.stop(t)

	r = elicense(t, []string{"ELICENSE_PASSPHRASE_FILE=" + filepath.Join(data, "passphrase")}, "key", "rotate", "--agency", agency, "--data", data)
	r.want(t, 0)
	oldKID := strings.Fields(strings.SplitN(r.stdout, "old key ", 2)[1])[0]

	s = startServer(t, data)
	second := issue(s)
	rootPEM, _ := os.ReadFile(filepath.Join(data, "pki", "root.crt.pem"))
	roots, _ := gm.ParseCertificatesPEM(rootPEM)
	bundle := func(s *server) *trust.Bundle {
		var doc []byte
		s.call(t, "GET", "/v1/trust", "", nil, &doc)
		b, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: roots})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := bundle(s)
	for name, cred := range map[string]string{"before rotation": first, "after rotation": second} {
		if _, err := credential.Verify(cred, credential.VerifyOptions{Keys: b.Resolver()}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	s.stop(t)

	r = elicense(t, []string{"ELICENSE_PASSPHRASE_FILE=" + filepath.Join(data, "passphrase")}, "key", "compromise", "--agency", agency,
		"--key", oldKID, "--since", signedAt.Add(-time.Minute).Format(time.RFC3339), "--data", data)
	r.want(t, 0)
	s = startServer(t, data)
	b = bundle(s)
	if _, err := credential.Verify(first, credential.VerifyOptions{Keys: b.Resolver()}); !errors.Is(err, credential.ErrKeyCompromised) {
		t.Fatalf("licence of the compromised key: %v", err)
	}
	if _, err := credential.Verify(second, credential.VerifyOptions{Keys: b.Resolver()}); err != nil {
		t.Fatalf("licence of the new key: %v", err)
	}
	s.stop(t)
	// Two issuances and two key events, all verifiable.
	v := elicense(t, nil, "ledger", "verify", "--data", data)
	v.want(t, 0)
	if !strings.Contains(v.stdout, " 4 entries") {
		t.Fatalf("ledger verify: %s", v.stdout)
	}
}

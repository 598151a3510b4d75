package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/certs/trust"
	"elicense/internal/gm"
)

// TestKeyRotationAndCompromise runs the key commands against a running
// server, which keeps issuing throughout: licences issued while the key
// rotates all verify under the key the next trust bundle says was active
// when they were signed; once the old key is declared compromised since
// before they were signed, counters reject its licences and not the new
// key's. Bad requests are refused with the server's reason, and the
// offline path (server stopped) tightens the compromise through the same
// code.
func TestKeyRotationAndCompromise(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data)
	admin := readToken(t, data)
	adminFile := filepath.Join(data, "admin.token")
	const agency = "11310000PDY100010H" // 营业执照
	key := func(token string, args ...string) result {
		t.Helper()
		return elicense(t, nil, append(append([]string{"key"}, args...), "--server", s.url, "--token-file", token)...)
	}
	body, _ := json.Marshal(map[string]any{"class": "business-license", "agency": agency, "fields": loadSamples(t)["business-license"]})
	issue := func() (string, error) {
		req, _ := http.NewRequest("POST", s.url+"/v1/licences", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var l struct{ Credential string }
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || resp.StatusCode != 201 {
			return "", fmt.Errorf("issue: %d %v", resp.StatusCode, err)
		}
		return l.Credential, nil
	}
	first, err := issue()
	if err != nil {
		t.Fatal(err)
	}
	signedAt := time.Now()

	// Four clients issue while the key rotates.
	var (
		mu      sync.Mutex
		during  []string
		failed  []error
		wg      sync.WaitGroup
		stopped = make(chan struct{})
	)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stopped:
					return
				default:
				}
				cred, err := issue()
				mu.Lock()
				if err != nil {
					failed = append(failed, err)
				} else {
					during = append(during, cred)
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	r := key(adminFile, "rotate", "--agency", agency)
	time.Sleep(200 * time.Millisecond)
	close(stopped)
	wg.Wait()
	r.want(t, 0)
	if len(failed) > 0 || len(during) < 8 {
		t.Fatalf("%d issuances during the rotation, failures: %v", len(during), failed)
	}
	oldKID := strings.Fields(strings.SplitN(r.stdout, "old key ", 2)[1])[0]
	newKID := strings.TrimSuffix(strings.Fields(strings.SplitN(r.stdout, "new key ", 2)[1])[0], ";")
	second, err := issue()
	if err != nil {
		t.Fatal(err)
	}

	rootPEM, _ := os.ReadFile(filepath.Join(data, "pki", "root.crt.pem"))
	roots, _ := gm.ParseCertificatesPEM(rootPEM)
	bundle := func() *trust.Bundle {
		t.Helper()
		var doc []byte
		s.call(t, "GET", "/v1/trust", "", nil, &doc)
		b, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: roots})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	keyState := func(b *trust.Bundle, kid string) trust.AgencyKey {
		t.Helper()
		for _, a := range b.Agencies {
			for _, k := range a.Keys {
				if a.Code == agency && k.KID == kid {
					return k
				}
			}
		}
		t.Fatalf("the bundle does not list key %s of %s", kid, agency)
		return trust.AgencyKey{}
	}
	b := bundle()
	if k := keyState(b, newKID); k.State != trust.KeyActive {
		t.Fatalf("new key: %+v", k)
	}
	if k := keyState(b, oldKID); k.State != trust.KeyRetired {
		t.Fatalf("old key: %+v", k)
	}
	signers := map[string]int{}
	for i, cred := range append([]string{first, second}, during...) {
		if _, err := credential.Verify(cred, credential.VerifyOptions{Keys: b.Resolver()}); err != nil {
			t.Fatalf("licence %d, after the rotation: %v", i, err)
		}
		signers[kidOf(t, cred)]++
	}
	if signers[oldKID] < 2 || signers[newKID] < 2 {
		t.Fatalf("licences by key: %v (old %s, new %s)", signers, oldKID, newKID)
	}

	// Refusals, with the server's reason.
	opFile := filepath.Join(t.TempDir(), "op.token")
	tr := elicense(t, []string{"ELICENSE_PASSPHRASE_FILE=" + filepath.Join(data, "passphrase")}, "token", "create", "--subject", "clerk", "--role", "operator", "--agency", agency, "--data", data, "--ttl", "1h")
	tr.want(t, 0)
	os.WriteFile(opFile, []byte(tr.stdout), 0o600)
	// token create applies the checks of POST /v1/tokens.
	bad := elicense(t, []string{"ELICENSE_PASSPHRASE_FILE=" + filepath.Join(data, "passphrase")}, "token", "create", "--subject", "clerk", "--role", "operator", "--agency", agency, "--classes", "drivers-license", "--data", data)
	bad.want(t, 1)
	if !strings.Contains(bad.stderr, "not certified to issue drivers-license") || bad.stdout != "" {
		t.Fatalf("token create for another agency's class: %s%s", bad.stdout, bad.stderr)
	}
	since := signedAt.Add(-time.Minute).Format(time.RFC3339)
	for _, c := range []struct {
		name, token string
		args        []string
		want        string
	}{
		{"operator", opFile, []string{"rotate", "--agency", agency}, "403"},
		{"unknown agency", adminFile, []string{"rotate", "--agency", "91310000MA1FL0000X"}, "404"},
		{"unknown key", adminFile, []string{"compromise", "--agency", agency, "--key", "00000000000000000000", "--since", since}, "404"},
		{"future time", adminFile, []string{"compromise", "--agency", agency, "--key", oldKID, "--since", time.Now().Add(time.Hour).Format(time.RFC3339)}, "422"},
	} {
		r := key(c.token, c.args...)
		r.want(t, 1)
		if !strings.Contains(r.stderr, "server answered "+c.want) {
			t.Errorf("%s: %s", c.name, r.stderr)
		}
	}

	r = key(adminFile, "compromise", "--agency", agency, "--key", oldKID, "--since", since)
	r.want(t, 0)
	if !strings.Contains(r.stdout, "genuine set of key "+oldKID+": 0 QR cores") {
		t.Fatalf("compromise: %s", r.stdout)
	}
	b = bundle()
	if k := keyState(b, oldKID); k.State != trust.KeyCompromised || k.Genuine == nil || k.Since.Format(time.RFC3339) != since {
		t.Fatalf("old key after the compromise: %+v", k)
	}
	for i, cred := range append([]string{first, second}, during...) {
		_, err := credential.Verify(cred, credential.VerifyOptions{Keys: b.Resolver()})
		switch {
		case err == nil && kidOf(t, cred) == newKID:
		case errors.Is(err, credential.ErrKeyCompromised):
		default:
			t.Fatalf("licence %d after the compromise: %v", i, err)
		}
	}
	// A later time would loosen the compromise: refused.
	r = key(adminFile, "compromise", "--agency", agency, "--key", oldKID, "--since", signedAt.Format(time.RFC3339))
	r.want(t, 1)
	if !strings.Contains(r.stderr, "server answered 409") {
		t.Fatalf("later compromise: %s", r.stderr)
	}
	// The offline path refuses while the server holds the data...
	pass := []string{"ELICENSE_PASSPHRASE_FILE=" + filepath.Join(data, "passphrase")}
	earlier := signedAt.Add(-2 * time.Minute).Format(time.RFC3339)
	r = elicense(t, pass, "key", "compromise", "--offline", "--data", data, "--agency", agency, "--key", oldKID, "--since", earlier)
	r.want(t, 1)
	s.stop(t)
	// ... and, with the server stopped, tightens the compromise.
	r = elicense(t, pass, "key", "compromise", "--offline", "--data", data, "--agency", agency, "--key", oldKID, "--since", earlier)
	r.want(t, 0)
	s = startServer(t, data)
	if k := keyState(bundle(), oldKID); k.State != trust.KeyCompromised || k.Since.Format(time.RFC3339) != earlier {
		t.Fatalf("old key after the offline compromise: %+v", k)
	}
	s.stop(t)
	// The issuances and three key events, all verifiable.
	v := elicense(t, nil, "ledger", "verify", "--data", data)
	v.want(t, 0)
	if want := fmt.Sprintf(" %d entries", 2+len(during)+3); !strings.Contains(v.stdout, want) {
		t.Fatalf("ledger verify: %s, want%s", v.stdout, want)
	}
}

// kidOf is the key ID in a credential's JWS header.
func kidOf(t *testing.T, cred string) string {
	t.Helper()
	h, _, _ := strings.Cut(cred, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	var hdr struct{ Kid string }
	if err == nil {
		err = json.Unmarshal(raw, &hdr)
	}
	if err != nil || hdr.Kid == "" {
		t.Fatalf("credential header %q: %v", h, err)
	}
	return hdr.Kid
}

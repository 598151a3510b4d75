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
	k := &keyRun{data: data, s: startServer(t, data)}
	k.admin = readToken(t, data)
	k.adminFile = filepath.Join(data, "admin.token")
	k.body, _ = json.Marshal(map[string]any{"class": "business-license", "agency": keyRunAgency, "fields": loadSamples(t)["business-license"]})
	k.rotateWhileIssuing(t)
	k.checkRotated(t)
	k.refusals(t)
	k.compromise(t)
	k.offline(t)
}

const keyRunAgency = "11310000PDY100010H" // 营业执照

// keyRun is the state TestKeyRotationAndCompromise carries from step to
// step; the steps run in the order the test calls them.
type keyRun struct {
	s         *server
	data      string
	admin     string
	adminFile string
	body      []byte // a licence to issue
	roots     []*gm.Certificate

	first, second  string   // licences issued before and after the rotation
	during         []string // and during it
	signedAt       time.Time
	oldKID, newKID string
}

// key runs elicense key with args against the server.
func (k *keyRun) key(t *testing.T, token string, args ...string) result {
	t.Helper()
	return elicense(t, nil, append(append([]string{"key"}, args...), "--server", k.s.url, "--token-file", token)...)
}

func (k *keyRun) issue() (string, error) {
	req, _ := http.NewRequest("POST", k.s.url+"/v1/licences", bytes.NewReader(k.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+k.admin)
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

// bundle fetches and verifies the server's trust bundle.
func (k *keyRun) bundle(t *testing.T) *trust.Bundle {
	t.Helper()
	var doc []byte
	k.s.call(t, "GET", "/v1/trust", "", nil, &doc)
	b, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: k.roots})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyState is what b says of the agency's key kid.
func (k *keyRun) keyState(t *testing.T, b *trust.Bundle, kid string) trust.AgencyKey {
	t.Helper()
	for _, a := range b.Agencies {
		for _, ak := range a.Keys {
			if a.Code == keyRunAgency && ak.KID == kid {
				return ak
			}
		}
	}
	t.Fatalf("the bundle does not list key %s of %s", kid, keyRunAgency)
	return trust.AgencyKey{}
}

// licences is every licence issued.
func (k *keyRun) licences() []string {
	return append([]string{k.first, k.second}, k.during...)
}

// rotateWhileIssuing issues a licence, then rotates the key while four
// clients issue, then issues another.
func (k *keyRun) rotateWhileIssuing(t *testing.T) {
	var err error
	k.first, err = k.issue()
	if err != nil {
		t.Fatal(err)
	}
	k.signedAt = time.Now()

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
				cred, err := k.issue()
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
	r := k.key(t, k.adminFile, "rotate", "--agency", keyRunAgency)
	time.Sleep(200 * time.Millisecond)
	close(stopped)
	wg.Wait()
	r.want(t, 0)
	if len(failed) > 0 || len(during) < 8 {
		t.Fatalf("%d issuances during the rotation, failures: %v", len(during), failed)
	}
	k.during = during
	k.oldKID = strings.Fields(strings.SplitN(r.stdout, "old key ", 2)[1])[0]
	k.newKID = strings.TrimSuffix(strings.Fields(strings.SplitN(r.stdout, "new key ", 2)[1])[0], ";")
	k.second, err = k.issue()
	if err != nil {
		t.Fatal(err)
	}
}

// checkRotated: the next bundle has the new key active and the old
// retired, and every licence verifies under it.
func (k *keyRun) checkRotated(t *testing.T) {
	rootPEM, _ := os.ReadFile(filepath.Join(k.data, "pki", "root.crt.pem"))
	k.roots, _ = gm.ParseCertificatesPEM(rootPEM)
	b := k.bundle(t)
	if ak := k.keyState(t, b, k.newKID); ak.State != trust.KeyActive {
		t.Fatalf("new key: %+v", ak)
	}
	if ak := k.keyState(t, b, k.oldKID); ak.State != trust.KeyRetired {
		t.Fatalf("old key: %+v", ak)
	}
	signers := map[string]int{}
	for i, cred := range k.licences() {
		if _, err := credential.Verify(cred, credential.VerifyOptions{Keys: b.Resolver()}); err != nil {
			t.Fatalf("licence %d, after the rotation: %v", i, err)
		}
		signers[kidOf(t, cred)]++
	}
	if signers[k.oldKID] < 2 || signers[k.newKID] < 2 {
		t.Fatalf("licences by key: %v (old %s, new %s)", signers, k.oldKID, k.newKID)
	}
}

// refusals: bad requests are refused, with the server's reason.
func (k *keyRun) refusals(t *testing.T) {
	data, agency, adminFile := k.data, keyRunAgency, k.adminFile
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
	since := k.signedAt.Add(-time.Minute).Format(time.RFC3339)
	for _, c := range []struct {
		name, token string
		args        []string
		want        string
	}{
		{"operator", opFile, []string{"rotate", "--agency", agency}, "403"},
		{"unknown agency", adminFile, []string{"rotate", "--agency", "91310000MA1FL0000X"}, "404"},
		{"unknown key", adminFile, []string{"compromise", "--agency", agency, "--key", "00000000000000000000", "--since", since}, "404"},
		{"future time", adminFile, []string{"compromise", "--agency", agency, "--key", k.oldKID, "--since", time.Now().Add(time.Hour).Format(time.RFC3339)}, "422"},
	} {
		r := k.key(t, c.token, c.args...)
		r.want(t, 1)
		if !strings.Contains(r.stderr, "server answered "+c.want) {
			t.Errorf("%s: %s", c.name, r.stderr)
		}
	}
}

// compromise declares the old key compromised since before the first
// licence: counters reject its licences and not the new key's. A later
// time would loosen the compromise: refused.
func (k *keyRun) compromise(t *testing.T) {
	oldKID := k.oldKID
	since := k.signedAt.Add(-time.Minute).Format(time.RFC3339)
	r := k.key(t, k.adminFile, "compromise", "--agency", keyRunAgency, "--key", oldKID, "--since", since)
	r.want(t, 0)
	if !strings.Contains(r.stdout, "genuine set of key "+oldKID+": 0 QR cores") {
		t.Fatalf("compromise: %s", r.stdout)
	}
	b := k.bundle(t)
	if ak := k.keyState(t, b, oldKID); ak.State != trust.KeyCompromised || ak.Genuine == nil || ak.Since.Format(time.RFC3339) != since {
		t.Fatalf("old key after the compromise: %+v", ak)
	}
	for i, cred := range k.licences() {
		_, err := credential.Verify(cred, credential.VerifyOptions{Keys: b.Resolver()})
		switch {
		case err == nil && kidOf(t, cred) == k.newKID:
		case errors.Is(err, credential.ErrKeyCompromised):
		default:
			t.Fatalf("licence %d after the compromise: %v", i, err)
		}
	}
	// A later time would loosen the compromise: refused.
	r = k.key(t, k.adminFile, "compromise", "--agency", keyRunAgency, "--key", oldKID, "--since", k.signedAt.Format(time.RFC3339))
	r.want(t, 1)
	if !strings.Contains(r.stderr, "server answered 409") {
		t.Fatalf("later compromise: %s", r.stderr)
	}
}

// offline: the offline path refuses while the server holds the data, and
// with the server stopped tightens the compromise; the ledger then holds
// the issuances and three key events, all verifiable.
func (k *keyRun) offline(t *testing.T) {
	data, agency, oldKID := k.data, keyRunAgency, k.oldKID
	// The offline path refuses while the server holds the data...
	pass := []string{"ELICENSE_PASSPHRASE_FILE=" + filepath.Join(data, "passphrase")}
	earlier := k.signedAt.Add(-2 * time.Minute).Format(time.RFC3339)
	r := elicense(t, pass, "key", "compromise", "--offline", "--data", data, "--agency", agency, "--key", oldKID, "--since", earlier)
	r.want(t, 1)
	k.s.stop(t)
	// ... and, with the server stopped, tightens the compromise.
	r = elicense(t, pass, "key", "compromise", "--offline", "--data", data, "--agency", agency, "--key", oldKID, "--since", earlier)
	r.want(t, 0)
	k.s = startServer(t, data)
	if ak := k.keyState(t, k.bundle(t), oldKID); ak.State != trust.KeyCompromised || ak.Since.Format(time.RFC3339) != earlier {
		t.Fatalf("old key after the offline compromise: %+v", ak)
	}
	k.s.stop(t)
	// The issuances and three key events, all verifiable.
	v := elicense(t, nil, "ledger", "verify", "--data", data)
	v.want(t, 0)
	if want := fmt.Sprintf(" %d entries", 2+len(k.during)+3); !strings.Contains(v.stdout, want) {
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

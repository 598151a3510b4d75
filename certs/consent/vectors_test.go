package consent

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// vectors is testdata/vectors.json: one complete 授权用证 flow made with
// the fixed test keys (fixedKey). SM2 signatures are randomised, so the
// file is made once (-update) and every later run checks that the same
// bytes still parse and verify: a change that breaks it breaks every
// wallet and relying party holding such tokens.
type vectors struct {
	Note        string            `json:"note"`
	Now         int64             `json:"now"`
	Root        string            `json:"root"`   // base64 DER of the test root certificate
	Bundle      string            `json:"bundle"` // the trust bundle token
	Keys        map[string]string `json:"keys"`   // test key name → hex uncompressed public key
	Issuer      string            `json:"issuer"`
	RP          string            `json:"rp"`
	Grant       string            `json:"grant"`
	Proof       vectorProof       `json:"proof"`
	Request     string            `json:"request"`
	RequestSM3  string            `json:"request_sm3"`
	Consent     string            `json:"consent"`
	Credential  string            `json:"credential"`
	Disclosed   map[string]string `json:"disclosed"`
	StatusIndex uint64            `json:"status_idx"`
}

type vectorProof struct {
	Authorization string `json:"authorization"`
	Method        string `json:"method"`
	Path          string `json:"path"`
	Body          string `json:"body"`
}

const vectorsNote = "One 授权用证 flow made with fixed SM2 test keys (d = SM3(\"elicense/consent/test-key/\" ‖ name)). " +
	"At now: the bundle verifies under root; the proof (the holder's, sub the copy) verifies with keys.device for method, path and body; the request " +
	"verifies with the bundle's ledger key for issuer; request_sm3 is base64url SM3 of request; the consent verifies with " +
	"keys.device against request; VerifyGrantCredential(credential, consent, request) for rp and grant, with status " +
	"valid, discloses exactly disclosed."

func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	names := []string{"root", "ledger", "agency", "device", "rp"}
	if *update {
		f := newFixture(t)
		fl := f.flow(t)
		body := `{"consent":"` + fl.consent + `"}`
		proof, err := SignProof(f.deviceKey, ProofClaims{Subject: testCopyID, Method: "POST", Path: "/v1/grants", IssuedAt: t0.Add(3 * time.Minute), Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		v := vectors{
			Note: vectorsNote, Now: t0.Add(3 * time.Minute).Unix(), Root: base64.StdEncoding.EncodeToString(f.rootDER), Bundle: f.bundleToken,
			Keys: map[string]string{}, Issuer: issuerURL, RP: testRP, Grant: testGrant,
			Proof:   vectorProof{Authorization: AuthScheme + " " + proof, Method: "POST", Path: "/v1/grants", Body: body},
			Request: fl.request, RequestSM3: RequestSM3(fl.request), Consent: fl.consent, Credential: fl.credential,
			Disclosed: map[string]string{"name": f.samples["name"], "legal_rep": f.samples["legal_rep"]}, StatusIndex: 7,
		}
		for _, n := range names {
			v.Keys[n] = pubHex(t, fixedKey(t, n))
		}
		out, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(v.Now, 0)
	for _, n := range names {
		if got := pubHex(t, fixedKey(t, n)); got != v.Keys[n] {
			t.Fatalf("test key %s is %s, the vectors' %s", n, got, v.Keys[n])
		}
	}
	rootDER, _ := base64.StdEncoding.DecodeString(v.Root)
	root, err := gm.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := trust.Verify(v.Bundle, trust.VerifyOptions{Roots: []*gm.Certificate{root}, Now: now.Add(-3 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}

	p, err := ParseAuthorization(v.Proof.Authorization)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(fixedKey(t, "device").PublicKey(), v.Proof.Method, v.Proof.Path, []byte(v.Proof.Body), now); err != nil {
		t.Errorf("proof: %v", err)
	}

	r, err := ParseRequest(v.Request)
	if err != nil {
		t.Fatal(err)
	}
	ledgerCert, _ := gm.ParseCertificate(bundle.LedgerKey.Cert)
	if err := r.Verify(ledgerCert.PublicKey.(*ecdsa.PublicKey), v.Issuer, catalog.Default(), now); err != nil {
		t.Errorf("request: %v", err)
	}
	if RequestSM3(v.Request) != v.RequestSM3 {
		t.Errorf("request_sm3 %s, want %s", RequestSM3(v.Request), v.RequestSM3)
	}

	c, err := ParseConsent(v.Consent)
	if err != nil {
		t.Fatal(err)
	}
	if c.RequestSM3 != v.RequestSM3 {
		t.Errorf("consent request_sm3 %s", c.RequestSM3)
	}
	if err := c.Verify(fixedKey(t, "device").PublicKey(), v.Request); err != nil {
		t.Errorf("consent: %v", err)
	}

	got, err := VerifyGrantCredential(v.Credential, v.Consent, v.Request, VerifyOptions{
		Bundle: bundle, RP: v.RP, Grant: v.Grant, Now: now,
		Status: func(ref credential.StatusRef) (statuslist.Status, error) {
			if ref.Index != v.StatusIndex {
				return statuslist.Revoked, nil
			}
			return statuslist.Valid, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.Fields, v.Disclosed) {
		t.Errorf("disclosed %v, want %v", got.Fields, v.Disclosed)
	}
}

func pubHex(t testing.TB, k *gm.PrivateKey) string {
	t.Helper()
	b, err := gm.MarshalPublicKey(k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

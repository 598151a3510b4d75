package api

import (
	"crypto/ecdsa"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/issuer/service"
	vseal "elicense/verifier/seal"
)

// The licence face shows the agency's seal, whose identifier the signed
// credential carries; the seal is a real GB/T 38540 seal made by the
// agency.
func TestLicenceFace(t *testing.T) {
	s := newTestServer(t)
	ag, _ := s.pki.AgencyForClass("business-license")
	tok := s.token(t, service.Operator{Subject: "op", Role: service.RoleOperator, Agency: ag.Code})
	var v licenceView
	if st := s.do(t, "POST", "/v1/licences", tok, ctJSON, issueJSON(t, "business-license"), &v); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	esid, der, pic, ok := s.svc.AgencySeal(ag.Code)
	if !ok || len(pic) == 0 {
		t.Fatal("the agency has no seal")
	}
	l, err := credential.Verify(v.Credential, credential.VerifyOptions{Keys: credential.KeySet{ag.KeyID: {{Public: ag.Cert.PublicKey.(*ecdsa.PublicKey), AgencyCode: ag.Code, Classes: ag.Classes}}}})
	if err != nil || l.Seal != esid {
		t.Fatalf("credential seal %q, want %q (%v)", l.Seal, esid, err)
	}
	sl, err := ses.ParseSeal(der)
	if err != nil {
		t.Fatal(err)
	}
	// The agency can seal with it, and the seal verifies under the root.
	sig, err := ses.SignDocument(sl, ag.CertDER, ag.Signer, []byte("licence face"), time.Now(), "face")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := vseal.Verify(sig.Raw, []byte("licence face"), vseal.Options{Roots: []*gm.Certificate{s.pki.Root}}); err != nil || res.Verdict != vseal.Valid {
		t.Fatalf("agency seal: %v", err)
	}
	req, _ := http.NewRequest("GET", s.URL+"/v1/licences/"+v.ID+"/face", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, "营业执照") || !strings.Contains(page, esid) ||
		!strings.Contains(page, `class="seal" alt=`) || !strings.Contains(page, "data:image/png;base64,") || !strings.Contains(page, v.HolderName) {
		t.Fatalf("face: %d\n%s", resp.StatusCode, page[:min(len(page), 600)])
	}
}

package api

import (
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/issuer/service"
	vseal "elicense/verifier/seal"
)

func TestSealsOverHTTP(t *testing.T) {
	s := newTestServer(t)
	own, _ := s.pki.AgencyForClass("business-license")
	other, _ := s.pki.AgencyForClass("drivers-license")
	op := s.token(t, service.Operator{Subject: "op", Role: service.RoleOperator, Agency: own.Code})
	otherOp := s.token(t, service.Operator{Subject: "p", Role: service.RoleOperator, Agency: other.Code})
	auditor := s.token(t, service.Operator{Subject: "a", Role: service.RoleAuditor, Agency: own.Code})

	holder := mustKey(t)
	now := time.Now()
	tmpl := &gm.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "上海浦江示例科技有限公司"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: gm.KeyUsageDigitalSignature}
	certDER, err := gm.CreateCertificate(tmpl, tmpl, holder.PublicKey(), holder)
	if err != nil {
		t.Fatal(err)
	}
	req := service.SealRequest{HolderName: "上海浦江示例科技有限公司", HolderCode: "91110000600037341L", Type: ses.TypeContract, SignerCert: certDER}
	if st := s.do(t, "POST", "/v1/seals", auditor, ctJSON, jsonOf(req), nil); st != 403 {
		t.Fatalf("auditor made a seal: %d", st)
	}
	var made service.MadeSeal
	if st := s.do(t, "POST", "/v1/seals", op, ctJSON, jsonOf(req), &made); st != 201 || made.ESID == "" {
		t.Fatalf("make: %d", st)
	}
	bad := req
	bad.SignerCert = []byte("junk")
	if st := s.do(t, "POST", "/v1/seals", op, ctJSON, jsonOf(bad), nil); st != 422 {
		t.Fatalf("junk certificate: %d", st)
	}

	// The holder seals a document; it verifies with the PKI root.
	sl, err := ses.ParseSeal(made.DER)
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte("合同正文")
	sig, err := ses.SignDocument(sl, certDER, holder, doc, time.Now(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := vseal.Verify(sig.Raw, doc, vseal.Options{Roots: []*gm.Certificate{s.pki.Root}}); err != nil || res.Verdict != vseal.Valid {
		t.Fatalf("verify: %v", err)
	}

	if st := s.do(t, "POST", "/v1/seals/"+made.ESID+"/revoke", otherOp, ctJSON, `{"reason":"遗失"}`, nil); st != 404 {
		t.Fatalf("another agency revoked the seal: %d", st)
	}
	if st := s.do(t, "POST", "/v1/seals/"+made.ESID+"/revoke", op, ctJSON, `{}`, nil); st != 422 {
		t.Fatalf("revoke without a reason: %d", st)
	}
	if st := s.do(t, "POST", "/v1/seals/"+made.ESID+"/revoke", op, ctJSON, `{"reason":"遗失"}`, nil); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	if st := s.do(t, "POST", "/v1/seals/"+made.ESID+"/revoke", op, ctJSON, `{"reason":"遗失"}`, nil); st != 409 {
		t.Fatalf("second revoke: %d", st)
	}
}

func jsonOf(v any) string {
	b, _ := jsonMarshal(v)
	return string(b)
}

var jsonMarshal = json.Marshal

package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ident"
	"elicense/certs/qr"
	"elicense/internal/gm"
	"elicense/issuer/pki"
	"elicense/verifier"
	"elicense/verifier/store"
)

// TestKeyRetireThenCompromiseAtCounter runs the real issuer through a key
// rotation and then a compromise of the old key, with a counter syncing
// from it, and a thief holding a copy of the old key:
//
//   - after the rotation, the old key's licences (an issuance, its
//     re-issue, and a device copy made at claim) keep verifying; the
//     thief's licence dated now is KEY_RETIRED, but one he backdates
//     passes — a retirement cannot tell, which is why compromise exists;
//   - after the compromise, the counter fetches the key's genuine set:
//     the genuine licences still verify (the superseded one says so),
//     and every forgery, backdated or at a genuine licence's copied
//     status position, is KEY_COMPROMISED; the new key is unaffected.
func TestKeyRetireThenCompromiseAtCounter(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data)
	admin := readToken(t, data)
	const agency = "11310000PDY100010H" // 营业执照
	samples := loadSamples(t)
	type lic struct {
		ID        string
		QR        string `json:"qr"`
		ClaimCode string `json:"claim_code"`
	}
	issue := func(s *server) lic {
		var l lic
		if st := s.call(t, "POST", "/v1/licences", admin, map[string]any{"class": "business-license", "agency": agency, "fields": samples["business-license"]}, &l); st != 201 {
			t.Fatalf("issue: %d", st)
		}
		return l
	}
	a := issue(s)
	// The holder claims a device copy of a second licence (its own core
	// and status position), and the agency re-issues a third.
	b := issue(s)
	dev, _ := gm.GenerateKey()
	devRaw, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	var ch struct{ Challenge string }
	s.call(t, "POST", "/v1/claims/challenge", "", nil, &ch)
	sig, _ := gm.SignRS(dev, append([]byte("elicense/claim/v1\x00"+ch.Challenge+"\x00"+b.ClaimCode+"\x00"), devRaw...))
	var claimed struct{ Holding json.RawMessage }
	if st := s.call(t, "POST", "/v1/claims", "", map[string]string{"code": b.ClaimCode, "device_key": base64.RawURLEncoding.EncodeToString(devRaw),
		"challenge": ch.Challenge, "signature": base64.RawURLEncoding.EncodeToString(sig)}, &claimed); st != 201 {
		t.Fatalf("claim: %d", st)
	}
	var copyHolding qr.Holding
	if err := json.Unmarshal(claimed.Holding, &copyHolding); err != nil {
		t.Fatal(err)
	}
	c := issue(s)
	fields := map[string]string{"domicile": "上海市浦东新区世纪大道200号"}
	var c2 lic
	if st := s.call(t, "POST", "/v1/licences/"+c.ID+"/reissue", admin, map[string]any{"fields": fields}, &c2); st != 201 && st != 200 {
		t.Fatalf("reissue: %d", st)
	}
	if c2.QR == "" {
		s.call(t, "GET", "/v1/licences/"+c2.ID, admin, nil, &c2)
	}

	// The thief's copy of the agency key, taken before the rotation.
	pw, err := os.ReadFile(filepath.Join(data, "passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pki.Load(filepath.Join(data, "pki"), []byte(strings.TrimSpace(string(pw))))
	if err != nil {
		t.Fatal(err)
	}
	stolen, _ := p.Agency(agency)
	if !strings.HasPrefix(a.QR, qr.Prefix) {
		t.Fatalf("issued QR %.4s, want format %s", a.QR, qr.Prefix)
	}
	aList, aIndex := statusOf(t, a.QR, stolen)
	forge := func(signedAt time.Time, list string, index uint64) string {
		t.Helper()
		cl, _ := catalog.Default().Lookup("business-license")
		f := samples["business-license"]
		f2 := map[string]string{}
		for k, v := range f {
			f2[k] = v
		}
		f2["name"] = "上海虚构贸易有限公司"
		id := ident.LicenseID{TypeCode: cl.TypeCode, IssuerCode: agency, Serial: "20260101ZZZZ0001", Version: 1}
		l, err := credential.NewLicense(cl, f2, credential.Issuance{ID: id.String(), IssuerName: stolen.Name, IssuerCode: agency, IssuedOn: signedAt})
		if err != nil {
			t.Fatal(err)
		}
		l.Status = &credential.StatusRef{URI: "https://forged.example/" + list, Index: index}
		jws, err := credential.Sign(l, credential.SignOptions{Signer: stolen.Signer, KeyID: stolen.KeyID, Now: func() time.Time { return signedAt }})
		if err != nil {
			t.Fatal(err)
		}
		h, err := qr.Build(l, jws, qr.BuildOptions{Signer: stolen.Signer, KeyID: stolen.KeyID, StatusList: list})
		if err != nil {
			t.Fatal(err)
		}
		text, err := h.Static()
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	beforeRotation := time.Now().Add(-time.Minute)

	// The server keeps running through the rotation and the compromise.
	key := func(args ...string) result {
		t.Helper()
		return elicense(t, nil, append(append([]string{"key"}, args...), "--server", s.url, "--token-file", filepath.Join(data, "admin.token"))...)
	}
	r := key("rotate", "--agency", agency)
	r.want(t, 0)
	oldKID := strings.Fields(strings.SplitN(r.stdout, "old key ", 2)[1])[0]
	if oldKID != stolen.KeyID {
		t.Fatalf("rotated %s, the thief holds %s", oldKID, stolen.KeyID)
	}
	retired, err := time.Parse(time.RFC3339, strings.Fields(strings.SplitN(r.stdout, " since ", 2)[1])[0])
	if err != nil {
		t.Fatalf("rotate: %s: %v", r.stdout, err)
	}

	d := issue(s) // signed by the new key
	counter, err := store.Open(filepath.Join(t.TempDir(), "counter"))
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := os.ReadFile(filepath.Join(data, "pki", "root.crt.pem"))
	if _, err := counter.AddRoot(rootPEM); err != nil {
		t.Fatal(err)
	}
	verify := func(s *server, want map[string]string, texts map[string]string) {
		t.Helper()
		if _, err := counter.Sync(context.Background(), s.url, store.SyncOptions{}); err != nil {
			t.Fatal(err)
		}
		cache, err := counter.Load(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		v := verifier.New(cache.State(), verifier.Options{})
		for name, text := range texts {
			if got := v.Verify(text, time.Now()); string(got.Code) != want[name] {
				t.Errorf("%s: %s (%s), want %s", name, got.Code, got.Detail, want[name])
			}
		}
	}
	present := func() string {
		t.Helper()
		text, err := copyHolding.Present(dev, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	// Positions next to a's, inside the list and (almost surely) free.
	// The old key is retired from the whole second after the rotation.
	time.Sleep(time.Until(retired))
	forgedNow := forge(time.Now(), aList, aIndex+2)
	forgedBackdated := forge(beforeRotation.Add(-30*time.Second), aList, aIndex+1)
	forgedAtA := forge(beforeRotation.Add(-30*time.Second), aList, aIndex)
	verify(s, map[string]string{
		"issued before the rotation": "VALID_STATIC", "device copy made at claim": "VALID", "superseded by its re-issue": "SUPERSEDED",
		"its re-issue": "VALID_STATIC", "signed by the new key": "VALID_STATIC",
		"forged, dated now": "KEY_RETIRED", "forged, backdated": "VALID_STATIC",
	}, map[string]string{
		"issued before the rotation": a.QR, "device copy made at claim": present(), "superseded by its re-issue": c.QR,
		"its re-issue": c2.QR, "signed by the new key": d.QR, "forged, dated now": forgedNow, "forged, backdated": forgedBackdated,
	})

	// Compromised since now: the --since text has whole seconds, so wait
	// for the second after the last genuine signature.
	time.Sleep(1100 * time.Millisecond)
	r = key("compromise", "--agency", agency, "--key", oldKID, "--since", time.Now().Format(time.RFC3339))
	r.want(t, 0)
	if !strings.Contains(r.stdout, "genuine set of key "+oldKID+": 5 QR cores") {
		t.Fatalf("compromise: %s", r.stdout)
	}
	verify(s, map[string]string{
		"issued before the rotation": "VALID_STATIC", "device copy made at claim": "VALID", "superseded by its re-issue": "SUPERSEDED",
		"its re-issue": "VALID_STATIC", "signed by the new key": "VALID_STATIC",
		"forged, dated now": "KEY_COMPROMISED", "forged, backdated": "KEY_COMPROMISED", "forged at a genuine licence's status position": "KEY_COMPROMISED",
	}, map[string]string{
		"issued before the rotation": a.QR, "device copy made at claim": present(), "superseded by its re-issue": c.QR,
		"its re-issue": c2.QR, "signed by the new key": d.QR, "forged, dated now": forgedNow, "forged, backdated": forgedBackdated,
		"forged at a genuine licence's status position": forgedAtA,
	})
	s.stop(t)
	v := elicense(t, nil, "ledger", "verify", "--data", data)
	v.want(t, 0)
}

// statusOf reads the status position of a QR text signed by agency key a.
func statusOf(t *testing.T, text string, a *pki.Agency) (string, uint64) {
	t.Helper()
	tok, err := qr.Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tok.Verify(qr.VerifyOptions{Keys: credential.KeySet{a.KeyID: {{Public: a.Cert.PublicKey.(*ecdsa.PublicKey), AgencyCode: a.Code, Classes: a.Classes}}}})
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusList, res.StatusIndex
}

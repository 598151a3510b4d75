package credential

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"elicense/internal/gm"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// vectorFile is testdata/vectors.json: credentials another implementation
// can check itself against. Keys are fixed test keys (never use them for
// anything else); signatures are randomised, so -update changes them.
type vectorFile struct {
	Note  string       `json:"_note"`
	Now   time.Time    `json:"now"`
	Keys  []vectorKey  `json:"keys"`
	Cases []vectorCase `json:"cases"`
}

type vectorKey struct {
	KID        string   `json:"kid"`
	Private    string   `json:"private_hex"` // test key, hex scalar
	Public     string   `json:"public_hex"`  // uncompressed point
	AgencyCode string   `json:"agency_code"`
	Classes    []string `json:"classes"`
}

type vectorCase struct {
	Name   string            `json:"name"`
	Token  string            `json:"token"`
	Reason string            `json:"reason,omitempty"` // expected error reason; empty: valid
	Want   map[string]string `json:"want,omitempty"`   // claims a valid token must yield
}

var reasons = map[string]error{}

func init() {
	for _, e := range []error{ErrMalformed, ErrUnknownClass, ErrBadField, ErrBadSignature, ErrUnknownKey,
		ErrExpired, ErrNotYetValid, ErrClassNotAllowed, ErrIssuerMismatch, ErrKeyCompromised, ErrKeyNotValid} {
		reasons[e.Error()] = e
	}
}

func fixedKey(t testing.TB, seed byte) *gm.PrivateKey {
	d := bytes.Repeat([]byte{seed}, 32)
	k, err := gm.NewPrivateKey(d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func generateVectors(t *testing.T) vectorFile {
	f := newFixture(t)
	f.key = fixedKey(t, 0x11)
	pub, _ := gm.MarshalPublicKey(f.key.PublicKey())
	f.keys = KeySet{testKID: {{Public: f.key.PublicKey(), AgencyCode: testIssuer, Classes: []string{"business-license"}}}}
	l := f.license(t, businessFields())
	valid := f.sign(t, l)
	fields := businessFields()
	fields["term"] = "2016-03-08至长期"
	longTerm := f.sign(t, f.license(t, fields))
	other := fixedKey(t, 0x22)
	parts := strings.Split(valid, ".")
	return vectorFile{
		Note: "Credential test vectors (docs/formats.md §1). Verify each token at `now` with `keys`; a case with a reason must fail with it. Keys are test-only. Regenerate with: go test ./certs/credential -run TestVectors -update",
		Now:  during,
		Keys: []vectorKey{{KID: testKID, Private: hex.EncodeToString(f.key.Bytes()), Public: hex.EncodeToString(pub), AgencyCode: testIssuer, Classes: []string{"business-license"}}},
		Cases: []vectorCase{
			{Name: "business licence, fixed term", Token: valid, Want: map[string]string{"jti": l.ID, "sub": l.HolderCode, "holder_name": l.HolderName, "valid_until": "2046-03-07", "legal_rep": "张三"}},
			{Name: "business licence, 长期", Token: longTerm, Want: map[string]string{"valid_until": LongTerm}},
			{Name: "signed by another key under the same kid", Token: resign(t, valid, other, same), Reason: ErrBadSignature.Error()},
			{Name: "payload edited after signing", Token: parts[0] + "." + strings.Replace(parts[1], parts[1][10:14], "AAAA", 1) + "." + parts[2], Reason: ErrBadSignature.Error()},
			{Name: "field fails its validator", Token: resign(t, valid, f.key, replace(`"established":"2016-03-08"`, `"established":"2016-13-08"`)), Reason: ErrBadField.Error()},
			{Name: "unknown class", Token: resign(t, valid, f.key, replace(`"class":"business-license"`, `"class":"fishing-permit"`)), Reason: ErrUnknownClass.Error()},
			{Name: "unknown kid", Token: resignHeader(t, valid, f.key, `{"alg":"SM2SM3","kid":"ffffffffffffffff","typ":"elicense+jwt"}`), Reason: ErrUnknownKey.Error()},
		},
	}
}

// loadVectors reads a vector file and its issuer keys, checking that each
// key's halves agree.
func loadVectors(t *testing.T, path string) (vectorFile, KeySet) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(data, &vf); err != nil {
		t.Fatal(err)
	}
	keys := KeySet{}
	for _, k := range vf.Keys {
		raw, _ := hex.DecodeString(k.Public)
		pub, err := gm.ParsePublicKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		priv, _ := hex.DecodeString(k.Private)
		sk, err := gm.NewPrivateKey(priv)
		if err != nil || !sk.PublicKey().Equal(pub) {
			t.Fatalf("key %s: private and public halves disagree (%v)", k.KID, err)
		}
		keys[k.KID] = append(keys[k.KID], IssuerKey{Public: pub, AgencyCode: k.AgencyCode, Classes: k.Classes})
	}
	return vf, keys
}

func TestVectors(t *testing.T) {
	const path = "testdata/vectors.json"
	if *update {
		data, err := json.MarshalIndent(generateVectors(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vf, keys := loadVectors(t, path)
	if len(vf.Cases) < 5 {
		t.Fatalf("only %d vectors", len(vf.Cases))
	}
	for _, c := range vf.Cases {
		t.Run(c.Name, func(t *testing.T) {
			l, err := Verify(c.Token, VerifyOptions{Keys: keys, Now: vf.Now})
			if c.Reason != "" {
				want, ok := reasons[c.Reason]
				if !ok {
					t.Fatalf("vector names unknown reason %q", c.Reason)
				}
				if !errors.Is(err, want) {
					t.Fatalf("got %v, want %v", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{"jti": l.ID, "sub": l.HolderCode, "holder_name": l.HolderName, "valid_until": LongTerm}
			if !l.ValidUntil.IsZero() {
				got["valid_until"] = dateString(l.ValidUntil)
			}
			for k, v := range l.Fields {
				got[k] = v
			}
			for k, v := range c.Want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

package qr

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/internal/gm"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

// vectorFile is testdata/vectors.json: QR tokens another implementation can
// check itself against (docs/formats.md §2).
type vectorFile struct {
	Note  string       `json:"_note"`
	Keys  []vectorKey  `json:"keys"`
	Cases []vectorCase `json:"cases"`
}

type vectorKey struct {
	KID        string   `json:"kid"`
	Private    string   `json:"private_hex"`
	Public     string   `json:"public_hex"`
	AgencyCode string   `json:"agency_code"`
	Classes    []string `json:"classes"`
}

type vectorCase struct {
	Name       string            `json:"name"`
	Token      string            `json:"token"`
	Now        time.Time         `json:"now"`
	Reason     string            `json:"reason,omitempty"`
	Bound      bool              `json:"bound,omitempty"`
	LicenseID  string            `json:"license_id,omitempty"`
	HolderName string            `json:"holder_name,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`
}

var reasons = map[string]error{}

func init() {
	for _, e := range []error{ErrMalformed, ErrBadSignature, ErrUnsupportedVersion, ErrBadDeviceSignature, ErrBadDisclosure,
		ErrPresentationStale, ErrPresentationFuture, ErrBindingMismatch, credential.ErrUnknownKey, credential.ErrExpired,
		credential.ErrNotYetValid, credential.ErrClassNotAllowed, credential.ErrBadField, credential.ErrUnknownClass} {
		reasons[e.Error()] = e
	}
}

func fixedKey(t testing.TB, seed byte) *gm.PrivateKey {
	k, err := gm.NewPrivateKey(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func generateVectors(t *testing.T) vectorFile {
	f := newFixture(t, "business-license")
	f.issuer, f.device = fixedKey(t, 0x11), fixedKey(t, 0x33)
	f.keys = credential.KeySet{testKID: {{Public: f.issuer.PublicKey(), AgencyCode: testIssuer, Classes: []string{"business-license"}}}}
	static, err := f.holding(t, businessClass(t), businessFields(), false).Static("domicile")
	if err != nil {
		t.Fatal(err)
	}
	bound := f.holding(t, businessClass(t), businessFields(), true)
	pres, err := bound.Present(f.device, now)
	if err != nil {
		t.Fatal(err)
	}
	other := fixedKey(t, 0x44)
	forged := reencode(t, pres, func(env *envelope, b *body, c *core) {
		env.DeviceSig, _ = gm.SignRS(other, append([]byte(presentationContext), env.Body...))
	})
	pub, _ := gm.MarshalPublicKey(f.issuer.PublicKey())
	holder := "上海浦江示例科技有限公司"
	tok, _ := Decode(static)
	id := ""
	if res, err := tok.Verify(VerifyOptions{Keys: f.keys, Now: now}); err == nil {
		id = res.LicenseID.String()
	}
	return vectorFile{
		Note: "QR token vectors (docs/formats.md §2). Decode and verify each token at its `now` with `keys`; a case with a reason must fail with it. Keys are test-only. Regenerate with: go test ./certs/qr -run TestVectors -update",
		Keys: []vectorKey{{KID: testKID, Private: hex.EncodeToString(f.issuer.Bytes()), Public: hex.EncodeToString(pub), AgencyCode: testIssuer, Classes: []string{"business-license"}}},
		Cases: []vectorCase{
			{Name: "static (paper) token disclosing 住所", Token: static, Now: now, LicenseID: id, HolderName: holder,
				Fields: map[string]string{"legal_rep": "张三", "term": "2016-03-08至2046-03-07", "domicile": "上海市浦东新区世纪大道100号"}},
			{Name: "holder-bound default presentation", Token: pres, Now: now.Add(20 * time.Second), Bound: true, LicenseID: id, HolderName: holder,
				Fields: map[string]string{"legal_rep": "张三"}},
			{Name: "presentation 2 minutes old", Token: pres, Now: now.Add(2 * time.Minute), Reason: ErrPresentationStale.Error()},
			{Name: "device signature by another key", Token: forged, Now: now, Reason: ErrBadDeviceSignature.Error()},
			{Name: "static token after the licence expired", Token: static, Now: time.Date(2046, 3, 8, 8, 0, 0, 0, china), Reason: credential.ErrExpired.Error()},
			{Name: "unknown version prefix", Token: "EL9:" + static[len(Prefix):], Now: now, Reason: ErrUnsupportedVersion.Error()},
			{Name: "one character of the signed core changed", Token: static[:40] + flipChar(static[40]) + static[41:], Now: now, Reason: ErrBadSignature.Error()},
			{Name: "truncated", Token: static[:len(static)-10], Now: now, Reason: ErrMalformed.Error()},
		},
	}
}

// flipChar swaps a Base45 character for another.
func flipChar(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestVectors(t *testing.T) {
	const path = "testdata/vectors.json"
	if *update {
		data, err := json.MarshalIndent(generateVectors(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(data, &vf); err != nil {
		t.Fatal(err)
	}
	keys := credential.KeySet{}
	for _, k := range vf.Keys {
		raw, _ := hex.DecodeString(k.Public)
		pub, err := gm.ParsePublicKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		keys[k.KID] = append(keys[k.KID], credential.IssuerKey{Public: pub, AgencyCode: k.AgencyCode, Classes: k.Classes})
	}
	for _, c := range vf.Cases {
		t.Run(c.Name, func(t *testing.T) {
			tok, err := Decode(c.Token)
			var res *Result
			if err == nil {
				res, err = tok.Verify(VerifyOptions{Keys: keys, Now: c.Now})
			}
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
			if res.Bound != c.Bound || res.LicenseID.String() != c.LicenseID || res.HolderName != c.HolderName {
				t.Fatalf("got bound=%v id=%s holder=%s", res.Bound, res.LicenseID, res.HolderName)
			}
			for k, v := range c.Fields {
				if res.Fields[k] != v {
					t.Errorf("%s = %q, want %q", k, res.Fields[k], v)
				}
			}
		})
	}
}

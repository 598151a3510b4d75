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
	"elicense/certs/trust"
	"elicense/internal/chinatime"
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

// vectorKey is an issuer key with its certificate's validity and state.
type vectorKey struct {
	KID              string          `json:"kid"`
	Private          string          `json:"private_hex"`
	Public           string          `json:"public_hex"`
	AgencyCode       string          `json:"agency_code"`
	Classes          []string        `json:"classes"`
	NotBefore        time.Time       `json:"not_before"`
	NotAfter         time.Time       `json:"not_after"`
	RetiredSince     time.Time       `json:"retired_since,omitzero"`
	CompromisedSince time.Time       `json:"compromised_since,omitzero"`
	Genuine          []vectorGenuine `json:"genuine,omitempty"` // a compromised key's genuine set
}

// vectorGenuine is one entry of a genuine set: a status position and the
// first 16 bytes of SM3("elicense/qr/genuine/v1" 0x00 ‖ core).
type vectorGenuine struct {
	List  string `json:"list"`
	Index uint64 `json:"index"`
	Tag   string `json:"tag_hex"`
}

type vectorCase struct {
	Name       string            `json:"name"`
	Expect     string            `json:"expect"` // what must hold, in words
	Token      string            `json:"token"`
	Now        time.Time         `json:"now"`
	Reason     string            `json:"reason,omitempty"`
	Bound      bool              `json:"bound,omitempty"`
	LicenseID  string            `json:"license_id,omitempty"`
	HolderName string            `json:"holder_name,omitempty"`
	SignedAt   time.Time         `json:"signed_at,omitzero"`
	Fields     map[string]string `json:"fields,omitempty"`
}

var reasons = map[string]error{}

func init() {
	for _, e := range []error{ErrMalformed, ErrBadSignature, ErrUnsupportedVersion, ErrBadDeviceSignature, ErrBadDisclosure,
		ErrPresentationStale, ErrPresentationFuture, ErrBindingMismatch, credential.ErrUnknownKey, credential.ErrExpired,
		credential.ErrNotYetValid, credential.ErrClassNotAllowed, credential.ErrBadField, credential.ErrUnknownClass,
		credential.ErrKeyRetired, credential.ErrKeyNotValid, credential.ErrKeyCompromised} {
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

// Vector keys: one active, one retired, one compromised.
const (
	retiredKID     = "1122334455667788"
	compromisedKID = "2233445566778899"
)

var (
	vecNotBefore   = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	vecNotAfter    = time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	vecRetired     = time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	vecCompromised = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
)

func generateVectors(t *testing.T) vectorFile {
	f := newFixture(t, "business-license")
	f.issuer, f.device = fixedKey(t, 0x11), fixedKey(t, 0x33)
	f.keys = credential.KeySet{testKID: {{Public: f.issuer.PublicKey(), AgencyCode: testIssuer, Classes: []string{"business-license"}}}}
	retiredKey, compromisedKey := fixedKey(t, 0x22), fixedKey(t, 0x55)
	signed := now.Add(-24 * time.Hour)
	mk := func(m made) *Holding {
		if m.signer == nil {
			m.signer, m.kid = f.issuer, testKID
		}
		if m.list == "" {
			m.list = "amr-1"
		}
		return holdingMade(t, f, m)
	}
	static := func(h *Holding, disclose ...string) string {
		s, err := h.Static(disclose...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	staticText := static(mk(made{signedAt: signed, index: 1}), "domicile")
	bound := mk(made{signedAt: signed, index: 2, bind: f.device})
	pres, err := bound.Present(f.device, now)
	if err != nil {
		t.Fatal(err)
	}
	other := fixedKey(t, 0x44)
	forged := reencode(t, pres, func(env *envelope, b *body, c *core) {
		env.DeviceSig, _ = gm.SignRS(other, append([]byte(presentationContext), env.Body...))
	})
	genuine := mk(made{signer: compromisedKey, kid: compromisedKID, signedAt: vecCompromised.Add(-30 * 24 * time.Hour), index: 40})
	gin, _ := genuine.Info()
	tag := trust.GenuineTag(genuine.Core)
	thief := made{signer: compromisedKey, kid: compromisedKID, signedAt: vecCompromised.Add(-24 * time.Hour), holder: "上海虚构贸易有限公司"}
	copied, fresh := thief, thief
	copied.index, fresh.index = gin.StatusIndex, 41
	noStatus := reencodeStatic(t, static(mk(made{signedAt: signed, index: 3})), func(c *core) { c.StatusList, c.StatusIndex = "", 0 })

	pubHex := func(k *gm.PrivateKey) string {
		p, _ := gm.MarshalPublicKey(k.PublicKey())
		return hex.EncodeToString(p)
	}
	key := func(kid string, k *gm.PrivateKey) vectorKey {
		return vectorKey{KID: kid, Private: hex.EncodeToString(k.Bytes()), Public: pubHex(k), AgencyCode: testIssuer,
			Classes: []string{"business-license"}, NotBefore: vecNotBefore, NotAfter: vecNotAfter}
	}
	keys := []vectorKey{key(testKID, f.issuer), key(retiredKID, retiredKey), key(compromisedKID, compromisedKey)}
	keys[1].RetiredSince = vecRetired
	keys[2].CompromisedSince = vecCompromised
	keys[2].Genuine = []vectorGenuine{{List: gin.StatusList, Index: gin.StatusIndex, Tag: hex.EncodeToString(tag[:])}}

	holder := "上海浦江示例科技有限公司"
	tok, _ := Decode(staticText)
	id := ""
	if res, err := tok.Verify(VerifyOptions{Keys: f.keys, Now: now}); err == nil {
		id = res.LicenseID.String()
	}
	sec := signed.Truncate(time.Second)
	return vectorFile{
		Note: "QR token vectors (docs/formats.md §2). Decode and verify each token at its `now` with `keys` (a key's certificate validity and state apply at the core's signing time; a compromised key accepts only the cores its genuine set lists); a case with a reason must fail with it, one without must verify and give the values listed. Keys are test-only. Regenerate with: go test ./certs/qr -run TestVectors -update",
		Keys: keys,
		Cases: []vectorCase{
			{Name: "static (paper) token disclosing 住所", Expect: "verifies; the core's signing time and the disclosed 住所 are read back", Token: staticText, Now: now, LicenseID: id, HolderName: holder, SignedAt: sec,
				Fields: map[string]string{"legal_rep": "张三", "term": "2016-03-08至2046-03-07", "domicile": "上海市浦东新区世纪大道100号"}},
			{Name: "holder-bound default presentation", Expect: "verifies as bound, 20 s after it was made", Token: pres, Now: now.Add(20 * time.Second), Bound: true, LicenseID: id, HolderName: holder, SignedAt: sec,
				Fields: map[string]string{"legal_rep": "张三"}},
			{Name: "presentation 2 minutes old", Expect: "refused: a presentation is accepted for 60 s (plus 30 s skew)", Token: pres, Now: now.Add(2 * time.Minute), Reason: ErrPresentationStale.Error()},
			{Name: "device signature by another key", Expect: "refused: the device signature is not by the core's device key", Token: forged, Now: now, Reason: ErrBadDeviceSignature.Error()},
			{Name: "static token after the licence expired", Expect: "refused: past valid_until", Token: staticText, Now: time.Date(2046, 3, 8, 8, 0, 0, 0, chinatime.Zone), Reason: credential.ErrExpired.Error()},
			{Name: "unknown version prefix", Expect: "refused as another version, not as malformed", Token: "EL9:" + staticText[len(Prefix):], Now: now, Reason: ErrUnsupportedVersion.Error()},
			{Name: "one character of the signed core changed", Expect: "refused: the issuer signature no longer verifies", Token: staticText[:40] + flipChar(staticText[40]) + staticText[41:], Now: now, Reason: ErrBadSignature.Error()},
			{Name: "truncated", Expect: "refused: not a whole token", Token: staticText[:len(staticText)-10], Now: now, Reason: ErrMalformed.Error()},
			{Name: "version 1 token (no signing time) under an active key", Expect: "still verifies: EL1 stays readable while its key is active and its certificate valid at now", Token: static(legacy(t, mk(made{signedAt: signed, index: 4}), f.issuer)), Now: now, LicenseID: id, HolderName: holder},
			{Name: "retired key, signed before the retirement", Expect: "verifies: rotation needs no re-issue", Token: static(mk(made{signer: retiredKey, kid: retiredKID, signedAt: vecRetired.Add(-time.Hour), index: 5})), Now: now, LicenseID: id, HolderName: holder, SignedAt: vecRetired.Add(-time.Hour)},
			{Name: "retired key, signed after the retirement", Expect: "refused: the core claims a signing time at or after retired_since", Token: static(mk(made{signer: retiredKey, kid: retiredKID, signedAt: vecRetired.Add(time.Hour), index: 6})), Now: now, Reason: credential.ErrKeyRetired.Error()},
			{Name: "retired key, version 1 token", Expect: "refused: a core with no signing time is never taken as signed before a retirement", Token: static(legacy(t, mk(made{signer: retiredKey, kid: retiredKID, signedAt: vecRetired.Add(-time.Hour), index: 7}), retiredKey)), Now: now, Reason: credential.ErrKeyRetired.Error()},
			{Name: "signed before the key's certificate was valid", Expect: "refused: signing time before not_before", Token: static(mk(made{signedAt: vecNotBefore.Add(-time.Hour), index: 8})), Now: now, Reason: credential.ErrKeyNotValid.Error()},
			{Name: "compromised key, genuine core", Expect: "verifies: its status position and tag are in the key's genuine set", Token: static(genuine), Now: now, LicenseID: id, HolderName: holder, SignedAt: vecCompromised.Add(-30 * 24 * time.Hour)},
			{Name: "compromised key, backdated forgery at a genuine core's status position", Expect: "refused: the position is in the genuine set but the core's tag is not", Token: static(mk(copied)), Now: now, Reason: credential.ErrKeyCompromised.Error()},
			{Name: "compromised key, backdated forgery at a new status position", Expect: "refused: the position is not in the genuine set", Token: static(mk(fresh)), Now: now, Reason: credential.ErrKeyCompromised.Error()},
			{Name: "core without a status reference", Expect: "refused: every token must name a status list", Token: noStatus, Now: now, Reason: ErrMalformed.Error()},
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
		ik := credential.IssuerKey{Public: pub, AgencyCode: k.AgencyCode, Classes: k.Classes, NotBefore: k.NotBefore, NotAfter: k.NotAfter,
			RetiredSince: k.RetiredSince, CompromisedSince: k.CompromisedSince}
		if !k.CompromisedSince.IsZero() {
			var es []trust.GenuineEntry
			for _, g := range k.Genuine {
				tag, err := hex.DecodeString(g.Tag)
				if err != nil || len(tag) != trust.GenuineTagSize {
					t.Fatalf("genuine tag %q", g.Tag)
				}
				es = append(es, trust.GenuineEntry{List: g.List, Index: g.Index, Tag: [trust.GenuineTagSize]byte(tag)})
			}
			doc, err := trust.MarshalGenuineSet(k.KID, k.CompromisedSince, es)
			if err != nil {
				t.Fatal(err)
			}
			if ik.Genuine, err = trust.ParseGenuineSet(doc); err != nil {
				t.Fatal(err)
			}
		}
		keys[k.KID] = append(keys[k.KID], ik)
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
			if res.Bound != c.Bound || res.LicenseID.String() != c.LicenseID || res.HolderName != c.HolderName || !res.SignedAt.Equal(c.SignedAt) {
				t.Fatalf("got bound=%v id=%s holder=%s signed_at=%v", res.Bound, res.LicenseID, res.HolderName, res.SignedAt)
			}
			for k, v := range c.Fields {
				if res.Fields[k] != v {
					t.Errorf("%s = %q, want %q", k, res.Fields[k], v)
				}
			}
		})
	}
}

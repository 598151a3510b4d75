package conformancekit

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/ident"
	"elicense/certs/statuslist"
	"elicense/internal/base45"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
	"elicense/verifier"
)

type valueInput struct {
	Check string `json:"check"`
	Value string `json:"value"`
	Class string `json:"class"`
	Field string `json:"field"`
}

// identChecks are the identifier validators by check name; now is the
// vector's clock, which decides ID-16's "today".
var identChecks = map[string]func(s string, now time.Time) error{
	"uscc":        func(s string, _ time.Time) error { return ident.ValidateUSCC(s) },
	"resident-id": ident.ValidateResidentIDAt,
	"org-code":    func(s string, _ time.Time) error { return ident.ValidateOrgCode(s) },
	"license-id":  func(s string, _ time.Time) error { return ident.ValidateLicenseID(s) },
}

func verdictOf(err error) string {
	if err != nil {
		return string(verifier.Malformed)
	}
	return "VALID"
}

func runValue(t *testing.T, _ *env, v vector) string {
	var in valueInput
	mustInput(t, v, &in)
	if in.Check == "field" {
		cl, ok := catalog.Default().Lookup(in.Class)
		if !ok {
			t.Fatalf("%s: no class %s", v.ID, in.Class)
		}
		f, ok := cl.Field(in.Field)
		if !ok {
			t.Fatalf("%s: no field %s", v.ID, in.Field)
		}
		return verdictOf(f.Validate(in.Value))
	}
	check, ok := identChecks[in.Check]
	if !ok {
		t.Fatalf("%s: unknown check %q", v.ID, in.Check)
	}
	return verdictOf(check(in.Value, v.Now))
}

type stdInput struct {
	Algorithm string   `json:"algorithm"`
	Message   string   `json:"message"`
	Repeat    int      `json:"repeat"`
	ID        string   `json:"id"`
	PublicX   string   `json:"public_x"`
	PublicY   string   `json:"public_y"`
	Leaves    []string `json:"leaves_hex"`
	Text      string   `json:"text"`
	Bits      int      `json:"bits"`
	Statuses  []int    `json:"statuses"`
	Value     string   `json:"value"`
	Index     uint64   `json:"index"`
	Size      uint64   `json:"size"`
	Size1     uint64   `json:"size1"`
	Size2     uint64   `json:"size2"`
	Proof     []string `json:"proof_hex"`
	Root1     string   `json:"root1"`
	Want      string   `json:"want"`
	WantR     string   `json:"want_r"`
	WantS     string   `json:"want_s"`
	WantZ     string   `json:"want_z"`
}

// runStandard computes a published example: VALID when the project's
// code gives the published output, else what went wrong.
func runStandard(t *testing.T, _ *env, v vector) string {
	var in stdInput
	mustInput(t, v, &in)
	switch in.Algorithm {
	case "sm3":
		d := gm.SM3([]byte(strings.Repeat(in.Message, in.Repeat)))
		return same(hex.EncodeToString(d[:]), in.Want)
	case "sm2-verify":
		return stdSM2(t, v, in)
	case "base45-encode":
		return same(base45.Encode([]byte(in.Message)), in.Want)
	case "base45-decode":
		b, err := base45.Decode(in.Text)
		if err != nil {
			return string(verifier.Malformed)
		}
		return same(string(b), in.Want)
	case "status-list":
		return stdStatusList(in)
	case "zlib-inflate":
		raw, err := inflate(in.Text)
		if err != nil {
			return string(verifier.Malformed)
		}
		return same(hex.EncodeToString(raw), in.Want)
	case "rfc6962-root-sha256":
		return stdRFC6962(t, in)
	case "rfc6962-inclusion-sha256", "rfc6962-consistency-sha256":
		return stdRFC6962Proof(t, in)
	}
	if check, ok := identChecks[in.Algorithm]; ok {
		return verdictOf(check(in.Value, v.Now))
	}
	t.Fatalf("%s: unknown algorithm %q", v.ID, in.Algorithm)
	return ""
}

func same(got, want string) string {
	if got == want {
		return "VALID"
	}
	return "MISMATCH(" + got + ")"
}

func stdSM2(t *testing.T, v vector, in stdInput) string {
	pt, err := hex.DecodeString("04" + in.PublicX + in.PublicY)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := gm.ParsePublicKey(pt)
	if err != nil {
		return string(verifier.Malformed)
	}
	r, _ := new(big.Int).SetString(in.WantR, 16)
	s, _ := new(big.Int).SetString(in.WantS, 16)
	rs := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	if in.ID != gm.DefaultUID {
		t.Fatalf("%s: ID %q is not the default", v.ID, in.ID)
	}
	if err := gm.VerifyRS(pub, []byte(in.Message), rs); err != nil {
		return string(verifier.BadSignature)
	}
	return "VALID"
}

func inflate(lst string) ([]byte, error) {
	z, err := base64.RawURLEncoding.DecodeString(lst)
	if err != nil {
		return nil, err
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func stdStatusList(in stdInput) string {
	z, err := base64.RawURLEncoding.DecodeString(in.Text)
	if err != nil {
		return string(verifier.Malformed)
	}
	l, err := statuslist.DecodeList(z, 0)
	if err != nil {
		return string(verifier.Malformed)
	}
	for i, want := range in.Statuses {
		if got, err := l.Get(i); err != nil || int(got) != want {
			return "MISMATCH(entry " + itoa(i) + ")"
		}
	}
	return same(hex.EncodeToString(l.Bytes()), in.Want)
}

func stdRFC6962(t *testing.T, in stdInput) string {
	tree := tlog.NewMemTree(sha256Hasher)
	for _, h := range in.Leaves {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		tree.AppendEntry(b)
	}
	root := tree.Root()
	return same(hex.EncodeToString(root[:]), in.Want)
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

var sha256Hasher = tlog.NewTreeHasher("SHA-256", sha256.New)

func hexHash(t *testing.T, s string) tlog.Hash {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return hash(t, b)
}

func hexProof(t *testing.T, p []string) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i := range p {
		out[i] = hexHash(t, p[i])
	}
	return out
}

func stdRFC6962Proof(t *testing.T, in stdInput) string {
	var err error
	if in.Algorithm == "rfc6962-inclusion-sha256" {
		leaf, derr := hex.DecodeString(in.Leaves[in.Index])
		if derr != nil {
			t.Fatal(derr)
		}
		err = sha256Hasher.VerifyInclusion(sha256Hasher.HashLeaf(leaf), in.Index, in.Size, hexProof(t, in.Proof), hexHash(t, in.Want))
	} else {
		err = sha256Hasher.VerifyConsistency(in.Size1, in.Size2, hexProof(t, in.Proof), hexHash(t, in.Root1), hexHash(t, in.Want))
	}
	if err != nil {
		return reject(err, tlogErrs)
	}
	return "VALID"
}

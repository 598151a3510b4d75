package receipt

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"elicense/internal/gm"
)

const testLicence = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

func key(t testing.TB) *gm.PrivateKey {
	t.Helper()
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func device(t testing.TB) []byte {
	t.Helper()
	b, err := gm.MarshalPublicKeyCompressed(key(t).PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	k := key(t)
	dev := device(t)
	for _, tc := range []struct {
		name string
		dev  []byte
	}{{"bound copy", dev}, {"static QR", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := Seal(k.PublicKey(), testLicence, tc.dev)
			if err != nil {
				t.Fatal(err)
			}
			l, err := Open(k, ct)
			if err != nil {
				t.Fatal(err)
			}
			if l.ID != testLicence || !bytes.Equal(l.DeviceKey, tc.dev) {
				t.Fatalf("opened %+v", l)
			}
			if _, err := Open(key(t), ct); !errors.Is(err, ErrOpen) {
				t.Fatalf("other key: %v, want ErrOpen", err)
			}
		})
	}
}

func TestSealRefuses(t *testing.T) {
	k := key(t)
	dev := device(t)
	for name, tc := range map[string]struct {
		id  string
		dev []byte
	}{
		"empty id":       {"", nil},
		"id with NUL":    {testLicence + "\x00", nil},
		"not a licence":  {"licence-1", nil},
		"bad check char": {strings.TrimSuffix(testLicence, "U") + "V", nil},
		"long id":        {strings.Repeat("1", 200), nil},
		"short key":      {testLicence, dev[:32]},
		"uncompressed":   {testLicence, append([]byte{4}, make([]byte, 64)...)},
		"off curve":      {testLicence, append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)},
	} {
		if _, err := Seal(k.PublicKey(), tc.id, tc.dev); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestParsePlaintext(t *testing.T) {
	dev := device(t)
	p := func(parts ...string) []byte { return []byte(strings.Join(parts, "")) }
	tests := []struct {
		name  string
		in    []byte
		field string // "" means valid
	}{
		{"static", p(plaintextPrefix, "\x00", testLicence, "\x00"), ""},
		{"bound", append(p(plaintextPrefix, "\x00", testLicence, "\x00"), dev...), ""},
		{"other version", p("elicense/receipt/v2\x00", testLicence, "\x00"), "licence"},
		{"no prefix", p(testLicence, "\x00"), "licence"},
		{"no second zero", p(plaintextPrefix, "\x00", testLicence), "licence"},
		{"empty id", p(plaintextPrefix, "\x00\x00"), "licence_id"},
		{"key of 32", append(p(plaintextPrefix, "\x00", testLicence, "\x00"), dev[:32]...), "device_key"},
		{"key and more", append(append(p(plaintextPrefix, "\x00", testLicence, "\x00"), dev...), 0), "device_key"},
		{"zero inside key", append(p(plaintextPrefix, "\x00", testLicence, "\x00"), make([]byte, 33)...), "device_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := parsePlaintext(tt.in)
			if tt.field == "" {
				if err != nil || l.ID != testLicence {
					t.Fatalf("%+v, %v", l, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Field != tt.field || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v, want field %s", err, tt.field)
			}
		})
	}
}

func TestNewAndValidate(t *testing.T) {
	k := key(t)
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	r, err := New(k.PublicKey(), at, "VALID", testLicence, device(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.At != at.Unix() || r.Verdict != "VALID" || len(r.ID) != 22 {
		t.Fatalf("%+v", r)
	}
	l, err := OpenString(k, r.Licence)
	if err != nil || l.ID != testLicence {
		t.Fatalf("%+v %v", l, err)
	}
	mod := func(f func(*Receipt)) Receipt { c := r; f(&c); return c }
	tests := []struct {
		name  string
		r     Receipt
		field string
	}{
		{"id short", mod(func(c *Receipt) { c.ID = c.ID[:21] }), "id"},
		{"id padded", mod(func(c *Receipt) { c.ID += "==" }), "id"},
		{"id std alphabet", mod(func(c *Receipt) { c.ID = "+" + c.ID[1:] }), "id"},
		{"id stray bits", mod(func(c *Receipt) { c.ID = c.ID[:21] + "B" }), "id"},
		{"at zero", mod(func(c *Receipt) { c.At = 0 }), "at"},
		{"at before 2000", mod(func(c *Receipt) { c.At = MinAt - 1 }), "at"},
		{"at past 2200 (the ledger encodes up to 2262)", mod(func(c *Receipt) { c.At = MaxAt + 1 }), "at"},
		{"at milliseconds", mod(func(c *Receipt) { c.At = at.UnixMilli() * 1000 }), "at"},
		{"verdict lower", mod(func(c *Receipt) { c.Verdict = "valid" }), "verdict"},
		{"verdict empty", mod(func(c *Receipt) { c.Verdict = "" }), "verdict"},
		{"licence empty", mod(func(c *Receipt) { c.Licence = "" }), "licence"},
		{"licence padded", mod(func(c *Receipt) { c.Licence += "=" }), "licence"},
		{"licence huge", mod(func(c *Receipt) { c.Licence = strings.Repeat("A", 2000) }), "licence"},
	}
	for _, tt := range tests {
		var e *Error
		if err := tt.r.Validate(); !errors.As(err, &e) || e.Field != tt.field {
			t.Errorf("%s: %v, want field %s", tt.name, err, tt.field)
		}
	}
}

func TestParseBatch(t *testing.T) {
	k := key(t)
	r1, _ := New(k.PublicKey(), time.Unix(1772350000, 0), "VALID", testLicence, device(t))
	r2, _ := New(k.PublicKey(), time.Unix(1772350060, 0), "REVOKED", testLicence, nil)
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	one := js(r1)
	good := `{"receipts":[` + one + `,` + js(r2) + `]}`
	b, err := ParseBatch([]byte(good))
	if err != nil || len(b.Receipts) != 2 || b.Receipts[1] != r2 {
		t.Fatalf("%+v %v", b, err)
	}
	many := make([]Receipt, MaxBatch+1)
	for i := range many {
		many[i] = r1
		many[i].ID = base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%016d", i))
	}
	tests := []struct {
		name, in, field string
	}{
		{"not json", `{`, "(body)"},
		{"array", `[` + one + `]`, "(body)"},
		{"null receipts", `{"receipts":null}`, "receipts"},
		{"empty", `{"receipts":[]}`, "receipts"},
		{"missing", `{}`, "receipts"},
		{"unknown member", `{"receipts":[` + one + `],"x":1}`, "x"},
		{"twice", `{"receipts":[` + one + `],"receipts":[` + one + `]}`, "receipts"},
		{"trailing", good + `{}`, "(body)"},
		{"same id twice", `{"receipts":[` + one + `,` + one + `]}`, "receipts[1].id"},
		{"receipt unknown member", `{"receipts":[` + strings.Replace(one, `{`, `{"name":"张三",`, 1) + `]}`, "receipts[0].name"},
		{"receipt missing member", `{"receipts":[{"id":"` + r1.ID + `","at":1,"verdict":"VALID"}]}`, "receipts[0].licence"},
		{"at as string", `{"receipts":[` + strings.Replace(one, fmt.Sprintf(`"at":%d`, r1.At), `"at":"1"`, 1) + `]}`, "receipts[0].at"},
		{"at fraction", `{"receipts":[` + strings.Replace(one, fmt.Sprintf(`"at":%d`, r1.At), `"at":1.5`, 1) + `]}`, "receipts[0].at"},
		{"id null", `{"receipts":[` + strings.Replace(one, `"id":"`+r1.ID+`"`, `"id":null`, 1) + `]}`, "receipts[0].id"},
		{"receipt not object", `{"receipts":[1]}`, "receipts[0]"},
		{"too many", js(Batch{Receipts: many}), "receipts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBatch([]byte(tt.in))
			var e *Error
			if !errors.As(err, &e) || e.Field != tt.field {
				t.Fatalf("error %v, want field %q", err, tt.field)
			}
		})
	}
}

// vectors are fixed ciphertexts under a fixed key: any implementation of
// Open must read them so.
type vectors struct {
	Key     string `json:"key"` // private scalar, hex
	Vectors []struct {
		Name      string `json:"name"`
		Licence   string `json:"licence"` // the receipt member, base64url
		ID        string `json:"licence_id"`
		DeviceKey string `json:"device_key,omitempty"` // hex
	} `json:"vectors"`
	Batches []struct {
		Name  string          `json:"name"`
		Body  json.RawMessage `json:"body"`
		Field string          `json:"field,omitempty"` // "" when valid
	} `json:"batches"`
}

func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	d, _ := hex.DecodeString(v.Key)
	k, err := gm.NewPrivateKey(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range v.Vectors {
		l, err := OpenString(k, tc.Licence)
		if err != nil || l.ID != tc.ID || hex.EncodeToString(l.DeviceKey) != tc.DeviceKey {
			t.Errorf("%s: %+v, %v", tc.Name, l, err)
		}
	}
	if len(v.Vectors) == 0 || len(v.Batches) == 0 {
		t.Fatal("no vectors")
	}
	for _, tc := range v.Batches {
		_, err := ParseBatch(tc.Body)
		var e *Error
		switch {
		case tc.Field == "" && err != nil:
			t.Errorf("%s: %v", tc.Name, err)
		case tc.Field != "" && (!errors.As(err, &e) || e.Field != tc.Field):
			t.Errorf("%s: %v, want field %s", tc.Name, err, tc.Field)
		}
	}
}

func writeVectors(t *testing.T) {
	d := bytes.Repeat([]byte{0x5a}, 32)
	k, err := gm.NewPrivateKey(d)
	if err != nil {
		t.Fatal(err)
	}
	dk, _ := gm.NewPrivateKey(bytes.Repeat([]byte{0x17}, 32))
	dev, _ := gm.MarshalPublicKeyCompressed(dk.PublicKey())
	var v vectors
	v.Key = hex.EncodeToString(d)
	for _, c := range []struct {
		name string
		dev  []byte
	}{{"bound copy", dev}, {"static QR", nil}} {
		ct, err := Seal(k.PublicKey(), testLicence, c.dev)
		if err != nil {
			t.Fatal(err)
		}
		v.Vectors = append(v.Vectors, struct {
			Name      string `json:"name"`
			Licence   string `json:"licence"`
			ID        string `json:"licence_id"`
			DeviceKey string `json:"device_key,omitempty"`
		}{c.name, base64.RawURLEncoding.EncodeToString(ct), testLicence, hex.EncodeToString(c.dev)})
	}
	r := Receipt{ID: "AAECAwQFBgcICQoLDA0ODw", At: 1772350000, Verdict: "VALID", Licence: v.Vectors[0].Licence}
	one, _ := json.Marshal(r)
	for _, b := range []struct{ name, body, field string }{
		{"one receipt", `{"receipts":[` + string(one) + `]}`, ""},
		{"a name smuggled in", `{"receipts":[` + strings.Replace(string(one), `{`, `{"holder_name":"张三",`, 1) + `]}`, "receipts[0].holder_name"},
		{"id of 15 bytes", `{"receipts":[` + strings.Replace(string(one), r.ID, "AAECAwQFBgcICQoLDA0O", 1) + `]}`, "receipts[0].id"},
	} {
		v.Batches = append(v.Batches, struct {
			Name  string          `json:"name"`
			Body  json.RawMessage `json:"body"`
			Field string          `json:"field,omitempty"`
		}{b.name, json.RawMessage(b.body), b.field})
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile("testdata/vectors.json", append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

package mobilesdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"strings"
	"testing"

	"elicense/certs/qr"
)

func testRecord(id string) *record {
	h, _ := json.Marshal(qr.Holding{Core: []byte{0xa0}, KeyID: make([]byte, 8), IssuerSig: make([]byte, 64), Credential: "00"})
	return &record{V: recordFormat, ID: id, Class: "drivers-license", Credential: "e30.e30.sig", Holding: h}
}

var testKey = bytes.Repeat([]byte{7}, 16)

func sealRecord(t testing.TB, r *record, name string) []byte {
	pt, err := marshalRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	data, err := sealFile(testKey, name, pt)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeLicenceFile(t *testing.T) {
	id := "1.2.156.3005.2.x#abc"
	name := licFileName(id)
	good := sealRecord(t, testRecord(id), name)
	reseal := func(f func(r *record)) []byte {
		r := testRecord(id)
		f(r)
		return sealRecord(t, r, name)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	sealRaw := func(pt string) []byte {
		b, _ := sealFile(testKey, name, []byte(pt))
		return b
	}
	for _, tc := range []struct {
		name string
		file string
		data []byte
		ok   bool
	}{
		{"good", name, good, true},
		{"empty", name, nil, false},
		{"bad magic", name, flip(0), false},
		{"flipped nonce", name, flip(5), false},
		{"flipped ciphertext", name, flip(len(good) / 2), false},
		{"flipped tag", name, flip(len(good) - 1), false},
		{"truncated", name, good[:len(good)-3], false},
		{"renamed file", licFileName("other"), good, false},
		{"record under another name", name, reseal(func(r *record) { r.ID = "other" }), false},
		{"format 2", name, reseal(func(r *record) { r.V = 2 }), false},
		{"no credential", name, reseal(func(r *record) { r.Credential = "" }), false},
		{"no holding", name, reseal(func(r *record) { r.Holding = nil }), false},
		{"short issuer sig", name, reseal(func(r *record) { r.Holding = json.RawMessage(`{"core":"oA==","kid":"AAAAAAAAAAA=","sig":"AA=="}`) }), false},
		{"not JSON", name, sealRaw("not json"), false},
		{"unknown field", name, sealRaw(`{"v":1,"bogus":1}`), false},
		{"trailing data", name, sealRaw(string(mustJSON(testRecord(id))) + "{}"), false},
		{"too large", name, append([]byte(fileMagic), make([]byte, maxFileSize)...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeLicenceFile(testKey, tc.file, tc.data)
			if tc.ok {
				if err != nil || r.ID != id {
					t.Fatalf("got %v", err)
				}
				return
			}
			var se *StoreError
			if !errors.Is(err, ErrCorrupt) || !errors.As(err, &se) || se.File != tc.file {
				t.Fatalf("got %v, want a corrupt *StoreError for %s", err, tc.file)
			}
		})
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzDecodeLicenceFile feeds the store decoder arbitrary files, sealed
// (so the record parser is reached) and raw: it must never panic, and
// must accept only a record stored under its own name.
func FuzzDecodeLicenceFile(f *testing.F) {
	id := "1.2.156.3005.2.x#abc"
	f.Add(mustJSON(testRecord(id)), false)
	f.Add([]byte(`{"v":1,"id":"x","credential":"a.b.c","holding":{"core":"oA=="}}`), true)
	f.Add([]byte("ELW1\x00\x01"), false)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		name := licFileName(id)
		file := data
		if !raw {
			var err error
			if file, err = sealFile(testKey, name, data); err != nil {
				t.Fatal(err)
			}
		}
		r, err := decodeLicenceFile(testKey, name, file)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if r.ID != id || raw {
			t.Fatalf("accepted %q (raw %v)", r.ID, raw)
		}
		r.licence() // must not panic on any accepted record
	})
}

func TestOpenStorage(t *testing.T) {
	st := NewMemoryStorage()
	if _, err := OpenStorage(st, "abc"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("short passphrase: %v", err)
	}
	w, err := OpenStorage(st, "1234")
	if err != nil {
		t.Fatal(err)
	}
	if len(w.DeviceKey()) != 33 || len(w.DeviceKeyID()) != 16 {
		t.Fatalf("device key %x %s", w.DeviceKey(), w.DeviceKeyID())
	}
	if err := w.save(testRecord("a#1")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pass string
		want error
	}{
		{"1234", nil},
		{"12345", ErrWrongPassphrase},
		{"", ErrInvalidArgument},
	} {
		w2, err := OpenStorage(st, tc.pass)
		if !errors.Is(err, tc.want) || (tc.want == nil && !bytes.Equal(w2.DeviceKey(), w.DeviceKey())) {
			t.Errorf("open with %q: %v, want %v", tc.pass, err, tc.want)
		}
	}
	if err := w.ChangePassphrase("new passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStorage(st, "1234"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("old passphrase after change: %v", err)
	}
	w3, err := OpenStorage(st, "new passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if l, err := w3.Get("a#1"); err != nil || l.ID != "a#1" || l.Bound {
		t.Fatalf("licence after passphrase change: %v %+v", err, l)
	}
	// A damaged key file is corruption, not a wrong passphrase.
	st.Save(keyFile, []byte("-----BEGIN GARBAGE-----\n"))
	if _, err := OpenStorage(st, "new passphrase"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged key file: %v", err)
	}
}

func TestSetTrustRoot(t *testing.T) {
	w, err := OpenStorage(NewMemoryStorage(), "1234")
	if err != nil {
		t.Fatal(err)
	}
	if root, err := w.TrustRoot(); root != nil || err != nil {
		t.Fatalf("fresh wallet root %q %v", root, err)
	}
	if err := w.SetTrustRoot([]byte("not pem")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad root: %v", err)
	}
}

func TestClaimSigningInput(t *testing.T) {
	got := claimSigningInput("chal", "0000-1A7K-3QM9-PX2R-TB8W", []byte{2, 0xab})
	want := "elicense/claim/v1\x00chal\x000000-1A7K-3QM9-PX2R-TB8W\x00\x02\xab"
	if string(got) != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestClaimBadInput(t *testing.T) {
	w, err := OpenStorage(NewMemoryStorage(), "1234")
	if err != nil {
		t.Fatal(err)
	}
	w.SetTimeout(2)
	for _, tc := range []struct {
		url, code string
		want      error
	}{
		{"ftp://x", "CODE", ErrInvalidArgument},
		{"not a url", "CODE", ErrInvalidArgument},
		{"http://127.0.0.1:1", "", ErrInvalidArgument},
		{"http://127.0.0.1:1", "CODE", ErrNetwork},
	} {
		if _, err := w.Claim(tc.url, tc.code); !errors.Is(err, tc.want) {
			t.Errorf("Claim(%q, %q): %v, want %v", tc.url, tc.code, err, tc.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"a", []string{"a"}},
		{" a , b,,c ", []string{"a", "b", "c"}},
	} {
		if got := splitList(tc.in); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("splitList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"device-key.pem": true, licFileName("x"): true, "": false, ".tmp": false, "../x": false, "A": false, "a/b": false,
	} {
		if validName(name) != want {
			t.Errorf("validName(%q) != %v", name, want)
		}
	}
}

func TestQRPNG(t *testing.T) {
	text := qr.Prefix + strings.Repeat("ABC123", 90) // about a default presentation
	for _, tc := range []struct {
		ppm  int64
		text string
		ok   bool
	}{
		{1, text, true}, {4, text, true}, {MaxPixelsPerModule, "EL1:X", true},
		{0, text, false}, {-3, text, false}, {MaxPixelsPerModule + 1, text, false}, {4, "", false},
	} {
		img, err := QRPNG(tc.text, tc.ppm)
		if (err == nil) != tc.ok {
			t.Errorf("QRPNG(ppm %d): %v", tc.ppm, err)
			continue
		}
		if !tc.ok {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("QRPNG(ppm %d): %v", tc.ppm, err)
			}
			continue
		}
		m, err := png.Decode(bytes.NewReader(img))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := QRVersion(tc.text)
		modules := int64(17+4*v) + 8 // quiet zone of 4 each side
		if got := int64(m.Bounds().Dx()); got != modules*tc.ppm {
			t.Errorf("ppm %d version %d: %d px, want %d", tc.ppm, v, got, modules*tc.ppm)
		}
	}
	if v, err := QRVersion(text); err != nil || v > 15 {
		t.Errorf("version %d %v", v, err)
	}
	if art, err := QRTerminal("EL1:X"); err != nil || !strings.Contains(art, "█") {
		t.Errorf("terminal: %v", err)
	}
}

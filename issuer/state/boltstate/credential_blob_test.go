package boltstate

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	json "github.com/go-json-experiment/json"

	"elicense/certs/credential"
	"elicense/certs/qr"
	"elicense/issuer/state"
)

// blobRecord is a record with a credential and QR core shaped like real
// ones (the service's tests store every class's and read it back).
func blobRecord() *state.Record {
	enc := base64.RawURLEncoding.EncodeToString
	fields := map[string]string{"name": "示例有限公司", "scope": "技术服务 <&>", "empty": ""}
	payload := credential.AppendFieldsJSON([]byte(`{"sub":"x","lic":{"fields":`), fields)
	payload = append(payload, `,"seal":"1"}}`...)
	return &state.Record{
		ID:             "id-1",
		CredentialHash: strings.Repeat("ab", 32),
		Fields:         fields,
		Credential:     enc([]byte(`{"alg":"SM2SM3"}`)) + "." + enc(payload) + "." + enc(bytes.Repeat([]byte{7}, 64)),
		Holding: &qr.Holding{
			Core: []byte{0xa9, 1, 2, 3}, KeyID: []byte("12345678"), IssuerSig: bytes.Repeat([]byte{9}, 64),
			Credential: strings.Repeat("ab", 32),
			Optional: []qr.OptionalField{
				{Key: "scope", Field: 9, Value: "技术服务 <&>", Salt: bytes.Repeat([]byte{1}, 16)},
				{Key: "empty", Field: 3, Value: "", Salt: bytes.Repeat([]byte{2}, 16)},
				{Key: "other", Field: 300, Value: "not in the record", Salt: bytes.Repeat([]byte{3}, 16)},
				{Key: "name", Field: 1, Value: "differs from the record", Salt: bytes.Repeat([]byte{4}, 16)},
			},
		},
	}
}

func TestBlobRoundTrip(t *testing.T) {
	r := blobRecord()
	b, err := appendBlob(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != blobFieldsCut {
		t.Fatalf("layout %d, want the compact one without fields", b[0])
	}
	if fj := credential.AppendFieldsJSON(nil, r.Fields); bytes.Contains(b, fj) {
		t.Fatalf("the fields' JSON %s is stored", fj)
	}
	got := &state.Record{CredentialHash: r.CredentialHash, Fields: r.Fields}
	if err := decodeBlob(b, got); err != nil {
		t.Fatal(err)
	}
	if got.Credential != r.Credential || !reflect.DeepEqual(got.Holding, r.Holding) {
		t.Fatalf("read back\n%q %+v\nwant\n%q %+v", got.Credential, got.Holding, r.Credential, r.Holding)
	}
	// A payload that does not hold the record's fields exactly once keeps
	// them: layout 2.
	for name, fields := range map[string]map[string]string{
		"other fields": {"name": "另一家公司"},
		"no fields":    nil,
	} {
		r := blobRecord()
		r.Fields = fields
		r.Holding.Optional = nil
		b, err := appendBlob(nil, r)
		if err != nil || b[0] != blobCompact {
			t.Fatalf("%s: layout %d, %v; want 2", name, b[0], err)
		}
		got := &state.Record{CredentialHash: r.CredentialHash, Fields: fields}
		if err := decodeBlob(b, got); err != nil || got.Credential != r.Credential {
			t.Fatalf("%s: read back %q, %v", name, got.Credential, err)
		}
	}
	// The QR core given as JSON (no Holding) is stored the same way.
	r2 := blobRecord()
	r2.QR, _ = json.Marshal(r2.Holding)
	r2.Holding = nil
	if b2, err := appendBlob(nil, r2); err != nil || !bytes.Equal(b2, b) {
		t.Fatalf("from JSON: %v, same bytes %v", err, bytes.Equal(b2, b))
	}
}

// TestBlobVerbatim: what the compact layout cannot give back exactly is
// stored as it came.
func TestBlobVerbatim(t *testing.T) {
	for name, change := range map[string]func(r *state.Record){
		"two parts":            func(r *state.Record) { r.Credential = r.Credential[:strings.LastIndexByte(r.Credential, '.')] },
		"four parts":           func(r *state.Record) { r.Credential += ".AAAA" },
		"non-canonical base64": func(r *state.Record) { r.Credential = r.Credential[:len(r.Credential)-1] + "x" },
		"padded base64":        func(r *state.Record) { r.Credential += "=" },
		"line break":           func(r *state.Record) { r.Credential = strings.Replace(r.Credential, ".", ".\n", 1) },
		"carriage return": func(r *state.Record) {
			i := strings.LastIndexByte(r.Credential, '.')
			r.Credential = r.Credential[:i+3] + "\r" + r.Credential[i+3:]
		},
		"digest differs": func(r *state.Record) { r.Holding.Credential = strings.Repeat("cd", 32) },
	} {
		r := blobRecord()
		change(r)
		b, err := appendBlob(nil, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b[0] != blobVerbatim {
			t.Fatalf("%s: layout %d, want verbatim", name, b[0])
		}
		got := &state.Record{}
		if err := decodeBlob(b, got); err != nil || got.Credential != r.Credential {
			t.Fatalf("%s: %q, %v", name, got.Credential, err)
		}
		var h qr.Holding
		if err := json.Unmarshal(got.QR, &h); err != nil || !reflect.DeepEqual(&h, r.Holding) {
			t.Fatalf("%s: QR core read back %+v, %v", name, h, err)
		}
	}
}

func TestBlobCorrupt(t *testing.T) {
	r := blobRecord()
	good, _ := appendBlob(nil, r)
	for name, b := range map[string][]byte{
		"empty":         nil,
		"layout 9":      {9, 0},
		"truncated":     good[:len(good)-3],
		"trailing":      append(bytes.Clone(good), 0),
		"huge length":   {blobCompact, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad varint":    {blobCompact, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"verbatim cut":  {blobVerbatim, 10, 'a'},
		"field missing": good,
		"cut past end":  {blobFieldsCut, 0, 5, 2, 'a', 'b', 0},
	} {
		fields := r.Fields
		if name == "field missing" {
			fields = map[string]string{"name": "x"} // "scope" and "empty" are read from the record
		}
		if err := decodeBlob(b, &state.Record{CredentialHash: r.CredentialHash, Fields: fields}); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeBlob: a stored credential that does not decode is an error,
// never a panic, and one that decodes is stored again the same way.
func FuzzDecodeBlob(f *testing.F) {
	r := blobRecord()
	good, _ := appendBlob(nil, r)
	f.Add(good)
	r.Holding.Credential = "x"
	verbatim, _ := appendBlob(nil, r)
	f.Add(verbatim)
	f.Add([]byte{blobCompact})
	r2 := blobRecord()
	r2.Fields = nil
	compact, _ := appendBlob(nil, r2)
	f.Add(compact)
	f.Fuzz(func(t *testing.T, b []byte) {
		base := blobRecord()
		got := &state.Record{CredentialHash: base.CredentialHash, Fields: base.Fields}
		if decodeBlob(b, got) != nil || got.Holding == nil {
			return
		}
		again, err := appendBlob(nil, got)
		if err != nil {
			t.Fatal(err)
		}
		back := &state.Record{CredentialHash: base.CredentialHash, Fields: base.Fields}
		if err := decodeBlob(again, back); err != nil || back.Credential != got.Credential || !reflect.DeepEqual(back.Holding, got.Holding) {
			t.Fatalf("stored again, reads back differently: %v", err)
		}
	})
}

func TestFieldsSpan(t *testing.T) {
	fields := map[string]string{"a": "1", "b": "<&>"}
	fj := string(credential.AppendFieldsJSON(nil, fields))
	for _, c := range []struct {
		payload string
		at      int
	}{
		{`{"lic":{"fields":` + fj + `}}`, 8},
		{`{"x":"\"fields\":","lic":{"fields":` + fj + `}}`, 26},
		{`{"lic":{"fields":{"a":"1"},"fields":` + fj + `}}`, 27},
		{`{"lic":{"fields":` + fj + `,"again":{"fields":` + fj + `}}}`, -1},
		{`{"lic":{"fields":{"a":"2"}}}`, -1},
		{`{"lic":{}}`, -1},
	} {
		span, at := fieldsSpan([]byte(c.payload), fields)
		if at != c.at || (at >= 0 && c.payload[at:at+len(span)] != `"fields":`+fj) {
			t.Errorf("%s: span at %d, want %d", c.payload, at, c.at)
		}
	}
	if _, at := fieldsSpan([]byte(`{"fields":null}`), nil); at != -1 {
		t.Errorf("nil fields found at %d", at)
	}
}

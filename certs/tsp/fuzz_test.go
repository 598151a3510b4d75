package tsp_test

// FuzzParse drives the parser. Run by hand with
//
//	go test -run='^$' -fuzz='^FuzzParse$' -fuzztime=30s ./certs/tsp/
//
// Beyond "no panic": an error is a *MalformedError wrapping ErrMalformed
// and comes with no token; a token has every field a verifier reads, and
// the bytes it says are signed are consistent with its signed attributes.

import (
	"bytes"
	"errors"
	"testing"

	"elicense/certs/tsp"
)

func FuzzParse(f *testing.F) {
	f.Add(readFile(f, "testdata/gmsm-pkcs7.tst"))
	for _, edit := range []func(*spec){
		func(*spec) {},
		func(s *spec) { s.resp = true },
		func(s *spec) { s.attrs = nil },
		func(s *spec) { s.sid = tlv(0x80, []byte{1, 2, 3}) },
		func(s *spec) { s.certs, s.crls = nil, tlv(0xa1) },
	} {
		s := defaultSpec()
		edit(s)
		f.Add(s.der())
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		tok, err := tsp.Parse(der)
		if err != nil {
			var m *tsp.MalformedError
			if tok != nil || !errors.As(err, &m) || !errors.Is(err, tsp.ErrMalformed) || m.Path == "" {
				t.Fatalf("error %T %v with token %v", err, err, tok != nil)
			}
			return
		}
		if tok.Info.SerialNumber == nil || tok.ContentType == nil ||
			tok.Info.HashAlgorithm == nil || tok.Signer.DigestAlgorithm == nil || tok.Signer.SignatureAlgorithm == nil {
			t.Fatalf("token lacks a field: %+v", tok)
		}
		id := tok.Signer.SID
		if (id.Issuer == nil) != (id.SerialNumber == nil) || (id.Issuer != nil && id.SubjectKeyID != nil) {
			t.Fatalf("sid %+v", id)
		}
		msg := tok.SignedMessage()
		switch raw := tok.Signer.RawSignedAttrs; {
		case raw == nil:
			if tok.Signer.SignedAttrs != nil || !bytes.Equal(msg, tok.RawTSTInfo) {
				t.Fatal("without signed attributes the signed message is the TSTInfo")
			}
		case tok.Signer.SignedAttrs == nil || msg[0] != 0x31 || !bytes.Equal(msg[1:], raw[1:]) || raw[0] != 0xa0:
			t.Fatalf("signed message %x for attributes %x", msg, raw)
		}
		if !bytes.Contains(der, tok.RawTSTInfo) {
			t.Fatal("RawTSTInfo is not from the input")
		}
	})
}

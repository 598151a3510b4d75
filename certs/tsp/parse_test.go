package tsp_test

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"testing"
	"time"

	"elicense/certs/tsp"
)

func TestParse(t *testing.T) {
	d := defaultSpec()
	tok, err := tsp.Parse(d.der())
	if err != nil {
		t.Fatal(err)
	}
	want := tsp.TSTInfo{
		Version: 1, Policy: testPolicy, HashAlgorithm: oidSM3, HashedMessage: testImprint,
		GenTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	in := tok.Info
	if in.Version != want.Version || !in.Policy.Equal(want.Policy) || !in.HashAlgorithm.Equal(want.HashAlgorithm) ||
		!bytes.Equal(in.HashedMessage, want.HashedMessage) || in.SerialNumber.Int64() != 42 || !in.GenTime.Equal(want.GenTime) {
		t.Errorf("TSTInfo %+v", in)
	}
	if !tok.ContentType.Equal(tsp.OIDSignedData) || tok.Version != 3 || !bytes.Equal(tok.RawTSTInfo, d.TSTInfo()) {
		t.Errorf("token: content type %v version %d", tok.ContentType, tok.Version)
	}
	if len(tok.Certificates) != 1 || !bytes.Equal(tok.Certificates[0], testCert) {
		t.Errorf("certificates %x", tok.Certificates)
	}
	si := tok.Signer
	if si.Version != 1 || !si.DigestAlgorithm.Equal(oidSM3) || !si.SignatureAlgorithm.Equal(oidSM2Sign) || !bytes.Equal(si.Signature, testSig) {
		t.Errorf("SignerInfo %+v", si)
	}
	if !bytes.Equal(si.SID.Issuer, testIssuer) || si.SID.SerialNumber.Int64() != 7 || si.SID.SubjectKeyID != nil {
		t.Errorf("sid %+v", si.SID)
	}
	if !bytes.Equal(si.RawSignedAttrs, d.attrs) || len(si.SignedAttrs) != 3 {
		t.Fatalf("signed attributes %+v", si.SignedAttrs)
	}
	wantAttrs := []struct {
		typ   asn1.ObjectIdentifier
		value []byte
	}{
		{tsp.OIDContentType, oid(tsp.OIDTSTInfo)},
		{tsp.OIDMessageDigest, octets([]byte("digest"))},
		{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}, []byte{0x17, 13, '2', '4', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0', 'Z'}},
	}
	for i, w := range wantAttrs {
		a := si.SignedAttrs[i]
		if !a.Type.Equal(w.typ) || len(a.Values) != 1 || !bytes.Equal(a.Values[0], w.value) {
			t.Errorf("attribute %d: %v %x", i, a.Type, a.Values)
		}
	}
	// With signed attributes the signature is over them as a SET OF.
	if m := tok.SignedMessage(); m[0] != 0x31 || !bytes.Equal(m[1:], d.attrs[1:]) {
		t.Errorf("signed message %x", m)
	}
}

// TestParseVariants covers the forms a time-stamp authority may write.
func TestParseVariants(t *testing.T) {
	for _, c := range []struct {
		name  string
		edit  func(*spec)
		check func(*testing.T, *tsp.Token)
	}{
		{"TimeStampResp", func(s *spec) { s.resp = true }, func(t *testing.T, tok *tsp.Token) {
			if tok.Info.SerialNumber.Int64() != 42 {
				t.Error("serial")
			}
		}},
		{"GM/T 0010 content type", func(s *spec) { s.contentType = oid(tsp.OIDSignedDataGM) }, func(t *testing.T, tok *tsp.Token) {
			if !tok.ContentType.Equal(tsp.OIDSignedDataGM) {
				t.Error(tok.ContentType)
			}
		}},
		{"no signed attributes", func(s *spec) { s.attrs = nil }, func(t *testing.T, tok *tsp.Token) {
			if tok.Signer.RawSignedAttrs != nil || tok.Signer.SignedAttrs != nil || !bytes.Equal(tok.SignedMessage(), tok.RawTSTInfo) {
				t.Error("signed message is not the TSTInfo")
			}
		}},
		{"empty signed attributes", func(s *spec) { s.attrs = tlv(0xa0) }, func(t *testing.T, tok *tsp.Token) {
			if tok.Signer.SignedAttrs == nil || len(tok.Signer.SignedAttrs) != 0 || !bytes.Equal(tok.SignedMessage(), []byte{0x31, 0}) {
				t.Errorf("attributes %v", tok.Signer.SignedAttrs)
			}
		}},
		{"attribute with no value", func(s *spec) { s.attrs = tlv(0xa0, seq(oid(tsp.OIDMessageDigest), set())) }, func(t *testing.T, tok *tsp.Token) {
			if a := tok.Signer.SignedAttrs; len(a) != 1 || len(a[0].Values) != 0 {
				t.Errorf("attributes %v", a)
			}
		}},
		{"subjectKeyIdentifier", func(s *spec) { s.sid = tlv(0x80, []byte{1, 2, 3}) }, func(t *testing.T, tok *tsp.Token) {
			if id := tok.Signer.SID; id.Issuer != nil || !bytes.Equal(id.SubjectKeyID, []byte{1, 2, 3}) {
				t.Errorf("sid %+v", id)
			}
		}},
		{"no certificates, with crls", func(s *spec) { s.certs, s.crls = nil, tlv(0xa1, seq()) }, func(t *testing.T, tok *tsp.Token) {
			if tok.Certificates != nil {
				t.Error(tok.Certificates)
			}
		}},
		{"several certificates", func(s *spec) { s.certs = tlv(0xa0, testCert, testCert) }, func(t *testing.T, tok *tsp.Token) {
			if len(tok.Certificates) != 2 {
				t.Error(len(tok.Certificates))
			}
		}},
		{"genTime with a fraction", func(s *spec) { s.genTime = genTime("20240102030405.25Z") }, func(t *testing.T, tok *tsp.Token) {
			if want := time.Date(2024, 1, 2, 3, 4, 5, 250e6, time.UTC); !tok.Info.GenTime.Equal(want) {
				t.Error(tok.Info.GenTime)
			}
		}},
		{"genTime without a zone is China Standard Time", func(s *spec) { s.genTime = genTime("20240102110405") }, func(t *testing.T, tok *tsp.Token) {
			if want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC); !tok.Info.GenTime.Equal(want) {
				t.Error(tok.Info.GenTime)
			}
		}},
		{"TSTInfo's optional fields", func(s *spec) {
			s.tstRest = slices2(seq(integer(1)), tlv(0x01, []byte{0xff}), integer(99), tlv(0xa0, tlv(0xa4, testIssuer)))
		}, func(t *testing.T, tok *tsp.Token) {
			if tok.Info.Version != 1 {
				t.Error(tok.Info.Version)
			}
		}},
		{"a second SignerInfo is not read", func(s *spec) {
			si := seq(s.siVersion, s.sid, s.digestAlg, s.attrs, s.sigAlg, s.signature)
			s.signerInfos = set(si, seq(integer(99)))
		}, func(t *testing.T, tok *tsp.Token) {
			if tok.Signer.Version != 1 {
				t.Error(tok.Signer.Version)
			}
		}},
		{"big serial numbers", func(s *spec) { s.serial = tlv(0x02, bytes.Repeat([]byte{0x7f}, 20)) }, func(t *testing.T, tok *tsp.Token) {
			if tok.Info.SerialNumber.BitLen() != 159 {
				t.Error(tok.Info.SerialNumber)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := defaultSpec()
			c.edit(s)
			tok, err := tsp.Parse(s.der())
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, tok)
		})
	}
}

func slices2(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestParseMalformed wants each broken element reported by its path.
func TestParseMalformed(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*spec)
		der  []byte // instead of edit
		path string
	}{
		{name: "empty", der: []byte{}, path: "TimeStampToken"},
		{name: "not a SEQUENCE", der: []byte{0x02, 0x01, 0x01}, path: "TimeStampToken"},
		{name: "INTEGER in a SEQUENCE", der: []byte{0x30, 0x03, 0x02, 0x01, 0x01}, path: "TimeStampToken.contentType"},
		{name: "trailing bytes", edit: func(s *spec) { s.trailing = []byte{0} }, path: "TimeStampToken"},
		{name: "long-form length of a short SEQUENCE", der: []byte{0x30, 0x81, 0x01, 0x00}, path: "TimeStampToken"},
		{name: "indefinite length", der: []byte{0x30, 0x80, 0x00, 0x00}, path: "TimeStampToken"},
		{name: "TimeStampResp without a token", der: seq(seq(integer(2))), path: "TimeStampResp"},
		{name: "TimeStampResp with more", der: seq(seq(integer(0)), seq(), seq()), path: "TimeStampResp"},
		{name: "content type data", edit: func(s *spec) { s.contentType = oid(oidData) }, path: "TimeStampToken.contentType"},
		{name: "content not [0]", edit: func(s *spec) { s.content = seq() }, path: "TimeStampToken.content"},
		{name: "no content", edit: func(s *spec) { s.content = []byte{} }, path: "TimeStampToken.content"},
		{name: "SignedData version missing", edit: func(s *spec) { s.sdVersion = nil }, path: "SignedData"},
		{name: "digestAlgorithms not a SET", edit: func(s *spec) { s.digestAlgs = seq() }, path: "SignedData"},
		{name: "eContentType data", edit: func(s *spec) { s.eType = oid(oidData) }, path: "SignedData.encapContentInfo.eContentType"},
		{name: "no eContent", edit: func(s *spec) { s.eContent = []byte{} }, path: "SignedData.encapContentInfo.eContent"},
		{name: "eContent not an OCTET STRING", edit: func(s *spec) { s.eContent = explicit0(seq()) }, path: "SignedData.encapContentInfo.eContent"},
		{name: "certificate not a SEQUENCE", edit: func(s *spec) { s.certs = tlv(0xa0, integer(1)) }, path: "SignedData.certificates"},
		{name: "certificate truncated", edit: func(s *spec) { s.certs = tlv(0xa0, []byte{0x30, 0x05, 0x02}) }, path: "SignedData.certificates"},
		{name: "crls truncated", edit: func(s *spec) { s.crls = []byte{0xa1, 0x82, 0xff, 0xff} }, path: "SignedData.crls"},
		{name: "no signerInfos", edit: func(s *spec) { s.signerInfos = []byte{} }, path: "SignedData.signerInfos"},
		{name: "empty signerInfos", edit: func(s *spec) { s.signerInfos = set() }, path: "SignedData.signerInfos"},
		{name: "TSTInfo not a SEQUENCE", edit: func(s *spec) { s.tstInfo = integer(1) }, path: "TSTInfo"},
		{name: "TSTInfo empty", edit: func(s *spec) { s.tstInfo = []byte{} }, path: "TSTInfo"},
		{name: "TSTInfo version", edit: func(s *spec) { s.tstVersion = oid(testPolicy) }, path: "TSTInfo.version"},
		{name: "TSTInfo version too big", edit: func(s *spec) { s.tstVersion = tlv(0x02, bytes.Repeat([]byte{1}, 9)) }, path: "TSTInfo.version"},
		{name: "policy", edit: func(s *spec) { s.policy = integer(1) }, path: "TSTInfo.policy"},
		{name: "imprint without algorithm", edit: func(s *spec) { s.imprint = seq(octets(testImprint)) }, path: "TSTInfo.messageImprint"},
		{name: "imprint without hash", edit: func(s *spec) { s.imprint = seq(algorithm(oidSM3)) }, path: "TSTInfo.messageImprint"},
		{name: "serial", edit: func(s *spec) { s.serial = octets([]byte{1}) }, path: "TSTInfo.serialNumber"},
		{name: "serial not minimal", edit: func(s *spec) { s.serial = tlv(0x02, []byte{0, 1}) }, path: "TSTInfo.serialNumber"},
		{name: "genTime missing", edit: func(s *spec) { s.genTime = nil }, path: "TSTInfo.genTime"},
		{name: "genTime as UTCTime", edit: func(s *spec) { s.genTime = tlv(0x17, []byte("240102030405Z")) }, path: "TSTInfo.genTime"},
		{name: "genTime text", edit: func(s *spec) { s.genTime = genTime("2024-01-02") }, path: "TSTInfo.genTime"},
		{name: "genTime month 13", edit: func(s *spec) { s.genTime = genTime("20241302030405Z") }, path: "TSTInfo.genTime"},
		{name: "SignerInfo version", edit: func(s *spec) { s.siVersion = nil }, path: "SignerInfo.version"},
		{name: "SignerInfo ends after version", edit: func(s *spec) { s.signerInfos = set(seq(integer(1))) }, path: "SignerInfo.sid"},
		{name: "sid truncated", edit: func(s *spec) { s.signerInfos = set(seq(integer(1), []byte{0x30, 0x09})) }, path: "SignerInfo.sid"},
		{name: "sid of another tag", edit: func(s *spec) { s.sid = integer(5) }, path: "SignerInfo.sid"},
		{name: "sid constructed [0]", edit: func(s *spec) { s.sid = tlv(0xa0, octets([]byte{1})) }, path: "SignerInfo.sid"},
		{name: "sid without serial", edit: func(s *spec) { s.sid = seq(testIssuer) }, path: "SignerInfo.sid"},
		{name: "sid issuer not a Name", edit: func(s *spec) { s.sid = seq(integer(1), integer(7)) }, path: "SignerInfo.sid"},
		{name: "digestAlgorithm", edit: func(s *spec) { s.digestAlg = oid(oidSM3) }, path: "SignerInfo.digestAlgorithm"},
		{name: "digestAlgorithm empty", edit: func(s *spec) { s.digestAlg = seq() }, path: "SignerInfo.digestAlgorithm"},
		{name: "signedAttrs truncated", edit: func(s *spec) { s.attrs = []byte{0xa0, 0x82, 0xff, 0xff} }, path: "SignerInfo.signedAttrs"},
		{name: "attribute not a SEQUENCE", edit: func(s *spec) { s.attrs = tlv(0xa0, integer(1)) }, path: "SignerInfo.signedAttrs"},
		{name: "attribute without values", edit: func(s *spec) { s.attrs = tlv(0xa0, seq(oid(tsp.OIDMessageDigest))) }, path: "SignerInfo.signedAttrs"},
		{name: "attribute values not a SET", edit: func(s *spec) { s.attrs = tlv(0xa0, seq(oid(tsp.OIDMessageDigest), seq())) }, path: "SignerInfo.signedAttrs"},
		{name: "attribute value truncated", edit: func(s *spec) { s.attrs = tlv(0xa0, seq(oid(tsp.OIDMessageDigest), set([]byte{0x04, 0x05}))) }, path: "SignerInfo.signedAttrs"},
		{name: "signatureAlgorithm", edit: func(s *spec) { s.sigAlg = nil }, path: "SignerInfo.signatureAlgorithm"},
		{name: "signature", edit: func(s *spec) { s.signature = tlv(0x03, []byte{0, 1}) }, path: "SignerInfo.signature"},
		{name: "signature missing", edit: func(s *spec) { s.signature = nil }, path: "SignerInfo.signature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			der := c.der
			if c.edit != nil {
				s := defaultSpec()
				c.edit(s)
				der = s.der()
			}
			tok, err := tsp.Parse(der)
			if err == nil {
				t.Fatalf("parsed: %+v", tok)
			}
			var m *tsp.MalformedError
			if !errors.As(err, &m) || !errors.Is(err, tsp.ErrMalformed) || tok != nil {
				t.Fatalf("error %T %v", err, err)
			}
			if m.Path != c.path {
				t.Errorf("path %q, want %q (%v)", m.Path, c.path, err)
			}
			if want := "tsp: " + c.path + ": "; len(err.Error()) <= len(want) || err.Error()[:len(want)] != want {
				t.Errorf("message %q", err)
			}
		})
	}
}

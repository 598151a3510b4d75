package tsp_test

import (
	"encoding/asn1"
	"math/big"
	"slices"

	"elicense/certs/tsp"
)

// DER building blocks: each returns one encoded element.

func tlv(tag byte, content ...[]byte) []byte {
	body := slices.Concat(content...)
	n := len(body)
	var hdr []byte
	switch {
	case n < 0x80:
		hdr = []byte{tag, byte(n)}
	case n < 0x100:
		hdr = []byte{tag, 0x81, byte(n)}
	case n < 0x10000:
		hdr = []byte{tag, 0x82, byte(n >> 8), byte(n)}
	default:
		hdr = []byte{tag, 0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return append(hdr, body...)
}

func seq(c ...[]byte) []byte                   { return tlv(0x30, c...) }
func set(c ...[]byte) []byte                   { return tlv(0x31, c...) }
func explicit0(c ...[]byte) []byte             { return tlv(0xa0, c...) }
func octets(b []byte) []byte                   { return tlv(0x04, b) }
func genTime(s string) []byte                  { return tlv(0x18, []byte(s)) }
func integer(n int64) []byte                   { return tlv(0x02, big.NewInt(n).Bytes()) }
func algorithm(o asn1.ObjectIdentifier) []byte { return seq(oid(o)) }

func oid(o asn1.ObjectIdentifier) []byte {
	der, err := asn1.Marshal(o)
	if err != nil {
		panic(err)
	}
	return der
}

var (
	oidSM3       = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
	oidSM2Sign   = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
	oidData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	testPolicy   = asn1.ObjectIdentifier{1, 2, 3, 4}
	testImprint  = []byte("0123456789abcdef0123456789abcdef")
	testIssuer   = seq(set(seq(oid(asn1.ObjectIdentifier{2, 5, 4, 3}), tlv(0x0c, []byte("TSA root")))))
	testCert     = seq(seq(integer(1)), seq(oid(oidSM2Sign)), tlv(0x03, []byte{0, 1, 2}))
	testSig      = []byte("signature")
	testAttrTime = seq(oid(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}), set(tlv(0x17, []byte("240101000000Z"))))
)

// spec holds a token's parts as DER elements, so that a test case can
// replace any one of them.
type spec struct {
	resp                         bool   // wrap in a TimeStampResp
	contentType                  []byte // OID
	content                      []byte // the [0] EXPLICIT SignedData; built from the parts below when nil
	sdVersion, digestAlgs, eType []byte
	eContent                     []byte // the [0] EXPLICIT OCTET STRING; built from TSTInfo when nil
	certs, crls                  []byte // optional [0] and [1]
	signerInfos                  []byte // SET; built from the SignerInfo parts when nil
	tstVersion, policy, imprint  []byte
	serial, genTime, tstRest     []byte
	tstInfo                      []byte // the whole TSTInfo; built from the parts above when nil
	siVersion, sid, digestAlg    []byte
	attrs, sigAlg, signature     []byte
	trailing                     []byte // after the outer SEQUENCE
}

func defaultSpec() *spec {
	return &spec{
		contentType: oid(tsp.OIDSignedData),
		sdVersion:   integer(3),
		digestAlgs:  set(algorithm(oidSM3)),
		eType:       oid(tsp.OIDTSTInfo),
		certs:       tlv(0xa0, testCert),
		tstVersion:  integer(1),
		policy:      oid(testPolicy),
		imprint:     seq(algorithm(oidSM3), octets(testImprint)),
		serial:      integer(42),
		genTime:     genTime("20240102030405Z"),
		siVersion:   integer(1),
		sid:         seq(testIssuer, integer(7)),
		digestAlg:   algorithm(oidSM3),
		attrs: tlv(0xa0,
			seq(oid(tsp.OIDContentType), set(oid(tsp.OIDTSTInfo))),
			seq(oid(tsp.OIDMessageDigest), set(octets([]byte("digest")))),
			testAttrTime),
		sigAlg:    algorithm(oidSM2Sign),
		signature: octets(testSig),
	}
}

func (s *spec) TSTInfo() []byte {
	if s.tstInfo != nil {
		return s.tstInfo
	}
	return seq(s.tstVersion, s.policy, s.imprint, s.serial, s.genTime, s.tstRest)
}

func (s *spec) der() []byte {
	content := s.content
	if content == nil {
		eContent := s.eContent
		if eContent == nil {
			eContent = explicit0(octets(s.TSTInfo()))
		}
		signerInfos := s.signerInfos
		if signerInfos == nil {
			signerInfos = set(seq(s.siVersion, s.sid, s.digestAlg, s.attrs, s.sigAlg, s.signature))
		}
		content = explicit0(seq(s.sdVersion, s.digestAlgs, seq(s.eType, eContent), s.certs, s.crls, signerInfos))
	}
	token := seq(s.contentType, content)
	if s.resp {
		token = seq(seq(integer(0)), token)
	}
	return append(token, s.trailing...)
}

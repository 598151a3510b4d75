package conformance

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"time"

	"elicense/certs/ses"
	"elicense/certs/tsp"
	"elicense/internal/gm"
)

// A time-stamp authority for the seal vectors (SEAL-13, SEAL-15): RFC
// 3161 TimeStampTokens with SM3 and SM2, as a GM/T 0033 authority signs
// them, carrying the TSA certificate (issued by the kit's root).

var (
	oidSignedData    = tsp.OIDSignedData
	oidContentTypeAt = tsp.OIDContentType
	oidMessageDigest = tsp.OIDMessageDigest
	oidSM2Sign       = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
)

type tsa struct {
	key  *gm.PrivateKey
	der  []byte
	cert *gm.Certificate
}

// timeStampingEKU is the extended key usage a TSA certificate carries
// (RFC 3161 §2.3): id-kp-timeStamping alone, critical.
// (The value is SEQUENCE { OID 1.3.6.1.5.5.7.3.8 }.)
var timeStampingEKU = pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true,
	Value: []byte{0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08}}

func (w *world) newTSA() (*tsa, error) {
	key := seedKey("tsa")
	w.serial++
	der, err := gm.CreateCertificate(&gm.Certificate{
		SerialNumber: big.NewInt(w.serial), Subject: pkix.Name{CommonName: "conformance TSA", Organization: []string{"conformance TSA"}},
		NotBefore: w.Now.Add(-24 * time.Hour), NotAfter: w.Now.Add(365 * 24 * time.Hour), KeyUsage: gm.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, ExtraExtensions: []pkix.Extension{timeStampingEKU},
	}, w.Root, key.PublicKey(), detSigner{w.RootKey})
	if err != nil {
		return nil, err
	}
	cert, err := gm.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tsa{key: key, der: der, cert: cert}, nil
}

// foreignTSA is a time-stamp authority certified by otherRoot, not by
// the kit's root, valid from a day before the kit's now for a year: a
// verifier with the kit's TSA roots does not trust its time-stamps, but
// must still check them (SEAL-16).
func (w *world) foreignTSA() (*tsa, error) {
	return w.foreignTSAValid(100, w.Now.Add(-24*time.Hour), w.Now.Add(365*24*time.Hour))
}

// foreignTSAValid is foreignTSA with the given serial number and
// validity.
func (w *world) foreignTSAValid(serial int64, notBefore, notAfter time.Time) (*tsa, error) {
	rootDER, err := otherRoot(w.Now)
	if err != nil {
		return nil, err
	}
	root, err := gm.ParseCertificate(rootDER)
	if err != nil {
		return nil, err
	}
	key := seedKey("foreign-tsa")
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "foreign TSA"},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: gm.KeyUsageDigitalSignature, BasicConstraintsValid: true, ExtraExtensions: []pkix.Extension{timeStampingEKU},
	}
	der, err := gm.CreateCertificate(tmpl, root, key.PublicKey(), detSigner{seedKey("other-root")})
	if err != nil {
		return nil, err
	}
	cert, err := gm.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tsa{key: key, der: der, cert: cert}, nil
}

// token time-stamps data (a signature value) at genTime.
func (t *tsa) token(data []byte, genTime time.Time) ([]byte, error) {
	imprint := gm.SM3(data)
	return tsp.Build(tsp.Stamp{Imprint: imprint[:], GenTime: genTime, Policy: asn1.ObjectIdentifier{1, 2, 3, 4}, Serial: 42,
		TSA: t.cert, Signer: detSigner{t.key}})
}

// stamped returns sig's DER with a time-stamp of its value at genTime.
func (t *tsa) stamped(sig *ses.Signature, genTime time.Time) ([]byte, error) {
	tok, err := t.token(sig.Value, genTime)
	if err != nil {
		return nil, err
	}
	return withToken(sig, tok)
}

// withToken returns sig's DER with tok as its time-stamp.
func withToken(sig *ses.Signature, tok []byte) ([]byte, error) {
	v := *sig
	v.Timestamp = &ses.Timestamp{Token: tok}
	return v.Marshal()
}

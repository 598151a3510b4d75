package tsp

import (
	"crypto"
	"encoding/asn1"
	"errors"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

// oidSM2Sign is the SignerInfo's signature algorithm Build writes
// (GM/T 0006 SM2 signing).
var oidSM2Sign = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}

// Stamp is what Build makes a token of. The zero values of the fields a
// verifier's tests break (Signer aside) give a conforming token.
type Stamp struct {
	Imprint []byte    // SM3 of the time-stamped data (the message imprint)
	GenTime time.Time // to the second
	Policy  asn1.ObjectIdentifier
	Serial  int64
	// TSA is the authority's certificate: carried in the token, and its
	// issuer and serial number name the signer.
	TSA *gm.Certificate
	// Signer signs: the TSA certificate's key, or another to make a
	// token whose signature does not verify.
	Signer crypto.Signer
	// NoSignedAttrs signs the TSTInfo itself (RFC 5652 allows it)
	// instead of the content-type and message-digest attributes.
	NoSignedAttrs bool
	// MessageDigest, when set, is the message-digest attribute instead
	// of SM3 of the TSTInfo (a broken token, for verifiers' tests).
	MessageDigest []byte
}

// Build makes an RFC 3161 TimeStampToken with GM/T 0033's algorithms: a
// CMS SignedData (version 3, SM3) encapsulating the TSTInfo (version 1,
// the policy, an SM3 message imprint, the serial number, genTime),
// carrying the TSA certificate, with one SignerInfo that signs, with
// SM2, the DER of its signed attributes tagged as a SET (RFC 5652 §5.4).
// It writes no optional TSTInfo field. What Build writes, Parse reads.
func Build(s Stamp) ([]byte, error) {
	if s.TSA == nil || s.Signer == nil || len(s.Imprint) == 0 || s.Policy == nil {
		return nil, errors.New("tsp: a stamp needs an imprint, a policy, the TSA certificate and a signer")
	}
	var tb cryptobyte.Builder
	tb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(s.Policy)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(ses.OIDSM3) })
			b.AddASN1OctetString(s.Imprint)
		})
		b.AddASN1Int64(s.Serial)
		b.AddASN1GeneralizedTime(s.GenTime.UTC().Truncate(time.Second))
	})
	tst, err := tb.Bytes()
	if err != nil {
		return nil, err
	}
	digest := s.MessageDigest
	if digest == nil {
		h := gm.SM3(tst)
		digest = h[:]
	}
	var ab cryptobyte.Builder
	ab.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(OIDContentType)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(OIDTSTInfo) })
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(OIDMessageDigest)
			b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) })
		})
	})
	attrs, err := ab.Bytes()
	if err != nil {
		return nil, err
	}
	msg := append([]byte{0x31}, attrs[1:]...)
	if s.NoSignedAttrs {
		msg = tst
	}
	sig, err := gm.Sign(s.Signer, msg)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(3)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(ses.OIDSM3) })
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(OIDTSTInfo)
					b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1OctetString(tst) })
				})
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(s.TSA.Raw) })
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(s.TSA.RawIssuer)
							b.AddASN1BigInt(s.TSA.SerialNumber)
						})
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(ses.OIDSM3) })
						if !s.NoSignedAttrs {
							b.AddBytes(attrs)
						}
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSM2Sign) })
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return b.Bytes()
}

package qr

import (
	"testing"

	"elicense/certs/credential"
)

// BenchmarkBuild is the QR core an issuer makes for every licence: salts,
// the commitment tree, the CBOR core and one SM2 signature.
func BenchmarkBuild(b *testing.B) {
	fx := newFixture(b, "business-license")
	l := fx.license(b, businessClass(b), businessFields())
	l.Device = fx.device.PublicKey()
	l.Status = &credential.StatusRef{URI: "https://elicense.example/v1/status/amr-1", Index: 123456}
	jws, err := credential.Sign(l, credential.SignOptions{Signer: fx.issuer, KeyID: testKID})
	if err != nil {
		b.Fatal(err)
	}
	opts := BuildOptions{Signer: fx.issuer, KeyID: testKID, StatusList: "amr-1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(l, jws, opts); err != nil {
			b.Fatal(err)
		}
	}
}

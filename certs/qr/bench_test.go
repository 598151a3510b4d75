package qr

import (
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/certs/ident"
)

// BenchmarkBuild is the QR core an issuer makes for every licence: salts,
// the commitment tree, the CBOR core and one SM2 signature.
func BenchmarkBuild(b *testing.B) {
	fx := newFixture(b, "business-license")
	cl := businessClass(b)
	id := ident.LicenseID{TypeCode: cl.TypeCode, IssuerCode: testIssuer, Serial: "2024000001", Version: 1}
	l, err := credential.NewLicense(cl, businessFields(), credential.Issuance{
		ID: id.String(), IssuerName: "上海市市场监督管理局", IssuerCode: testIssuer,
		IssuedOn: time.Date(2024, 5, 20, 0, 0, 0, 0, china),
	})
	if err != nil {
		b.Fatal(err)
	}
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

package agencycert

import (
	"bytes"
	"crypto/x509/pkix"
	"errors"
	"testing"

	"elicense/internal/gm"

	"golang.org/x/crypto/cryptobyte"
)

func seedPolicies(f *testing.F) [][]byte {
	tc := typeCode(f, "business-license")
	seeds := [][]byte{
		nil,
		{0x30, 0x00},
		policyDER(testCode, tc),
		policyDER(testCode, tc, typeCode(f, "drivers-license")),
		policyDER(testCode),
		policyDER(testCode, tc, tc),
		policyDER("11310000PDY100010A", tc),
		policyDER(testCode, "business-license"),
	}
	return seeds
}

// FuzzParsePolicy: ParsePolicy never panics, fails only with
// ErrMalformedPolicy, and what it accepts is canonical DER (re-encoding
// gives the same bytes).
func FuzzParsePolicy(f *testing.F) {
	for _, s := range seedPolicies(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedPolicy) {
				t.Fatalf("error %v does not wrap ErrMalformedPolicy", err)
			}
			return
		}
		if len(p.Classes) == 0 || p.AgencyCode == "" {
			t.Fatalf("accepted an empty policy %+v", p)
		}
		if again := marshalPolicy(p.AgencyCode, p.Classes); !bytes.Equal(again, data) {
			t.Fatalf("accepted non-canonical input %x (canonical %x)", data, again)
		}
	})
}

// FuzzFromCertificate feeds arbitrary bytes as the Subject Directory
// Attributes extension of a certificate: FromCertificate and RoleOf never
// panic and fail only with this package's sentinels.
func FuzzFromCertificate(f *testing.F) {
	for _, s := range seedPolicies(f) {
		f.Add(s, false, uint8(gm.KeyUsageDigitalSignature))
		f.Add(sda(func(b *cryptobyte.Builder) { attr(b, policyOIDBytes, raw(s)) }).Value, false, uint8(gm.KeyUsageDigitalSignature))
	}
	ext, err := Policy{AgencyCode: testCode, Classes: []string{"business-license"}}.Extension()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ext.Value, false, uint8(gm.KeyUsageDigitalSignature))
	for _, r := range []Role{RoleRoot, RoleLedger} {
		e, _ := RoleExtension(r)
		f.Add(e.Value, r == RoleRoot, uint8(gm.KeyUsageCertSign|gm.KeyUsageDigitalSignature))
	}
	f.Fuzz(func(t *testing.T, value []byte, ca bool, usage uint8) {
		c := &gm.Certificate{
			Subject:               pkix.Name{CommonName: "fuzz"},
			BasicConstraintsValid: true,
			IsCA:                  ca,
			KeyUsage:              gm.KeyUsage(usage),
			Extensions:            []pkix.Extension{{Id: OIDSubjectDirectoryAttributes, Value: value}},
		}
		p, perr := FromCertificate(c)
		if perr != nil && !errors.Is(perr, ErrNoPolicy) && !errors.Is(perr, ErrMalformedPolicy) {
			t.Fatalf("FromCertificate: unexpected error %v", perr)
		}
		if perr == nil && p.AgencyCode == "" {
			t.Fatal("FromCertificate accepted a policy without an agency code")
		}
		r, rerr := RoleOf(c)
		if rerr != nil && !errors.Is(rerr, ErrRole) && !errors.Is(rerr, ErrMalformedPolicy) {
			t.Fatalf("RoleOf: unexpected error %v", rerr)
		}
		if errors.Is(perr, ErrMalformedPolicy) != errors.Is(rerr, ErrMalformedPolicy) {
			t.Fatalf("FromCertificate and RoleOf disagree on well-formedness: %v / %v", perr, rerr)
		}
		if rerr == nil && r == RoleAgency && perr != nil {
			t.Fatalf("agency role without a policy: %v", perr)
		}
	})
}

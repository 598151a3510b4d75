package ofdfile_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/ofd"
	"elicense/internal/gm"
	"elicense/issuer/ofdfile"
	verifyofd "elicense/verifier/ofd"
)

// FuzzBuild builds files with arbitrary text in a field, the identifier
// and the agency's name: Build either refuses with ErrInvalid or makes a
// file that opens strictly, carries the texts unchanged and verifies
// VALID. It never panics.
func FuzzBuild(f *testing.F) {
	fx := load(f)
	cl, _ := catalog.Default().Lookup("business-license")
	base := samples(f)[cl.Key]
	for _, seed := range [][3]string{
		{"一般项目：技术服务", "1.2.156.3005.2.X", "上海市市场监督管理局"},
		{"a & b < c > d \" ' ]]> &amp;", "id&<>\"", "局\r\n局"},
		{"\r\n\r\t line\rtwo", "", "x"},
		{"\x00\x01", "\xff", "\uFFFE"},
		{"𠀀𠀁 emoji 😀 ", "𠀀", "  "},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	opts := verifyofd.Options{Roots: []*gm.Certificate{fx.root}, At: fx.at.Add(time.Hour)}
	f.Fuzz(func(t *testing.T, value, id, issuer string) {
		fields := map[string]string{}
		for k, v := range base {
			fields[k] = v
		}
		fields["business_scope"] = value
		l := &ofdfile.Licence{Class: cl, ID: id, IssuerName: issuer, IssuerCode: fx.code, IssuedOn: "2026-12-01", Fields: fields, QR: "EL2:X"}
		data, err := ofdfile.Build(l, fx.sealer, ofdfile.Options{At: fx.at})
		if err != nil {
			if !errors.Is(err, ofdfile.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		p, err := ofd.Open(data, nil)
		if err != nil {
			t.Fatalf("the file does not open: %v", err)
		}
		md := map[string]string{}
		for _, cd := range p.Root.Bodies[0].CustomData {
			md[cd.Name] = cd.Value
		}
		// The reader trims values; what it keeps must be what was given.
		if md["证照标识"] != strings.TrimSpace(id) || md["颁发机构"] != strings.TrimSpace(issuer) {
			t.Fatalf("metadata %q %q, want %q %q", md["证照标识"], md["颁发机构"], id, issuer)
		}
		if r := verifyofd.VerifyPackage(p, opts); r.Verdict != verifyofd.Valid {
			t.Fatalf("verdict %s: %s", r.Verdict, r.Detail)
		}
	})
}

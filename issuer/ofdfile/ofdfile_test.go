package ofdfile_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/ident"
	"elicense/certs/ofd"
	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/internal/proccpu"
	"elicense/issuer/ofdfile"
	"elicense/issuer/pki"
	"elicense/issuer/seal"
	verifyofd "elicense/verifier/ofd"
)

var (
	update     = flag.Bool("update", false, "rewrite the golden OFD file")
	updateKeys = flag.Bool("update-keys", false, "make a new test PKI and seal in testdata/pki (then run -update)")
)

const keyDir = "testdata/pki"

// fixture is the test agency: its root, certificate, key and
// licence-face seal, fixed in testdata so the golden file holds.
type fixture struct {
	root   *gm.Certificate
	sealer ofdfile.Sealer
	code   string
	name   string
	at     time.Time // a signing time inside every validity
}

func load(t testing.TB) *fixture {
	t.Helper()
	if *updateKeys {
		makeKeys(t)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(keyDir, name))
		if err != nil {
			t.Fatalf("%v (make them with go test ./issuer/ofdfile -run TestGolden -update-keys -update)", err)
		}
		return b
	}
	root, err := gm.ParseCertificate(read("root.der"))
	if err != nil {
		t.Fatal(err)
	}
	certDER := read("agency.der")
	if _, err := gm.ParseCertificate(certDER); err != nil {
		t.Fatal(err)
	}
	key, err := gm.ParsePrivateKeyPEM(read("agency.key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := ses.ParseSeal(read("seal.der"))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		root:   root,
		sealer: ofdfile.Sealer{Seal: sl, Cert: certDER, Signer: key},
		code:   "11310000PDY100010H",
		name:   pki.DefaultAgencies()[0].Name,
		at:     sl.Info.Property.ValidStart.Time().Add(24 * time.Hour),
	}
}

// makeKeys writes a development PKI's root, first agency and its
// licence-face seal (as issuer/service makes it) to testdata/pki.
func makeKeys(t testing.TB) {
	dir := filepath.Join(t.TempDir(), "pki")
	pass := []byte("test")
	if _, err := pki.Init(pki.InitOptions{Dir: dir, Passphrase: pass, Agencies: pki.DefaultAgencies()[:1],
		KeyEncryption: &gm.KeyEncryption{Iterations: 1000}}); err != nil {
		t.Fatal(err)
	}
	p, err := pki.Load(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	ag := p.Agencies[0]
	now := time.Now().UTC().Truncate(time.Second)
	made, err := seal.Make(seal.MakerFromAgency(ag), seal.Options{
		HolderName: ag.Name, HolderCode: ag.Code, Type: ses.TypeOfficial, Name: ag.Name + "电子证照专用章",
		ValidFrom: now, ValidUntil: ag.Cert.NotAfter, SignerCerts: [][]byte{ag.CertDER}, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := gm.MarshalPrivateKey(ag.Signer.(*gm.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(keyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"root.der": p.Root.Raw, "agency.der": ag.CertDER, "agency.key.pem": keyPEM, "seal.der": made.DER} {
		if err := os.WriteFile(filepath.Join(keyDir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func samples(t testing.TB) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../certs/catalog/testdata/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Samples map[string]map[string]string `json:"samples"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s.Samples
}

func licence(t testing.TB, f *fixture, cl *catalog.Class, fields map[string]string) *ofdfile.Licence {
	t.Helper()
	id := ident.LicenseID{TypeCode: cl.TypeCode, IssuerCode: f.code, Serial: "20261201ABCD1234", Version: 1}
	return &ofdfile.Licence{
		Class: cl, ID: id.String(), IssuerName: f.name, IssuerCode: f.code, IssuedOn: "2026-12-01",
		Fields: fields, QR: "EL2:" + strings.Repeat("6BFOXN*TS0BI$ZD.P9UI", 12),
	}
}

func verify(t testing.TB, f *fixture, data []byte) *verifyofd.Report {
	t.Helper()
	r, err := verifyofd.Verify(data, verifyofd.Options{Roots: []*gm.Certificate{f.root}, At: f.at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBuildEveryClass builds the file of every class's sample and checks
// it opens, shows every printed field, carries the metadata and verifies
// VALID against the PKI's root with every shown file protected.
func TestBuildEveryClass(t *testing.T) {
	f := load(t)
	smp := samples(t)
	classes := catalog.Default().Classes()
	if len(classes) != 17 {
		t.Fatalf("%d classes, want 17", len(classes))
	}
	for _, cl := range classes {
		t.Run(cl.Key, func(t *testing.T) {
			fields, ok := smp[cl.Key]
			if !ok {
				t.Fatalf("no sample for %s", cl.Key)
			}
			l := licence(t, f, cl, fields)
			data, err := ofdfile.Build(l, f.sealer, ofdfile.Options{At: f.at})
			if err != nil {
				t.Fatal(err)
			}
			p, err := ofd.Open(data, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkMetadata(t, p, l)
			checkPages(t, p, l)
			r := verify(t, f, data)
			if r.Verdict != verifyofd.Valid || len(r.Signatures) != 1 || r.Signatures[0].Verdict != verifyofd.Valid {
				t.Fatalf("verdict %s (%s), signatures %+v", r.Verdict, r.Detail, r.Signatures)
			}
			s := r.Signatures[0]
			if len(r.Unprotected) != 0 || len(s.Unprotected) != 0 || len(r.Warnings) != 0 {
				t.Errorf("unprotected %v / %v, warnings %v", r.Unprotected, s.Unprotected, r.Warnings)
			}
			// The provider is named once (no Company repeating it).
			if s.ESID != f.sealer.Seal.Info.ESID || s.Type != ofd.TypeSeal || !s.SignedAt.Equal(f.at) || s.Provider != "elicense" {
				t.Errorf("signature %+v", s)
			}
		})
	}
}

func checkMetadata(t *testing.T, p *ofd.Package, l *ofdfile.Licence) {
	t.Helper()
	md := map[string]string{}
	for _, cd := range p.Root.Bodies[0].CustomData {
		if _, dup := md[cd.Name]; dup {
			t.Errorf("CustomData %s twice", cd.Name)
		}
		md[cd.Name] = cd.Value
	}
	cl := l.Class
	want := map[string]string{
		"证照标识": l.ID, "证照类型代码": cl.TypeCode, "证照名称": cl.NameZH, "颁发机构": l.IssuerName,
		"颁发机构代码": l.IssuerCode, "颁证日期": l.IssuedOn, "持证主体": l.Fields[cl.HolderNameField],
	}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("%s = %q, want %q", k, md[k], v)
		}
	}
	for _, k := range []string{"有效期起始日期", "有效期截止日期", "持证主体代码类型", "电子印章标识"} {
		if md[k] == "" {
			t.Errorf("no %s", k)
		}
	}
	hf, _ := cl.Field(cl.HolderCodeField)
	code, printed := md["持证主体代码"]
	if printed != hf.Printed || (printed && code != l.Fields[cl.HolderCodeField]) {
		t.Errorf("持证主体代码 %q in the metadata, printed on paper: %v", code, hf.Printed)
	}
}

// checkPages checks that the pages show every printed field's label and
// (the first line of) its value, and no unprinted value.
func checkPages(t *testing.T, p *ofd.Package, l *ofdfile.Licence) {
	t.Helper()
	doc, err := p.Document(p.Root.Bodies[0].DocRoot)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, pg := range doc.Pages {
		b, err := p.File(pg.Loc)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	shown := all.String()
	for _, fd := range l.Class.Fields {
		v := l.Fields[fd.Key]
		if v == "" {
			continue
		}
		first := []rune(strings.SplitN(v, "\n", 2)[0])
		if len(first) > 10 {
			first = first[:10]
		}
		has := strings.Contains(shown, escape(string(first)))
		if fd.Printed && (!has || !strings.Contains(shown, escape(string([]rune(fd.Label)[:1])))) {
			t.Errorf("printed field %s (%s) is not shown", fd.Key, fd.Label)
		}
		if !fd.Printed && has && !printedValue(l, v) {
			t.Errorf("unprinted field %s is shown", fd.Key)
		}
	}
}

// printedValue reports whether v is also the value of a printed field
// (a 结婚证 prints each spouse's identity number, the holder's among them).
func printedValue(l *ofdfile.Licence, v string) bool {
	for _, fd := range l.Class.Fields {
		if fd.Printed && l.Fields[fd.Key] == v {
			return true
		}
	}
	return false
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// TestChangedByte changes one byte of every file of the package: a
// protected file gives DOCUMENT_MODIFIED, Signature.xml
// SIGNATURE_INVALID, SignedValue.dat something other than VALID.
// Signatures.xml is not protected (so that more signatures can be added,
// as GB/T 33190 has it); a change that keeps its list shows nothing else
// and stays VALID.
func TestChangedByte(t *testing.T) {
	f := load(t)
	cl, _ := catalog.Default().Lookup("business-license")
	data, err := ofdfile.Build(licence(t, f, cl, samples(t)[cl.Key]), f.sealer, ofdfile.Options{At: f.at})
	if err != nil {
		t.Fatal(err)
	}
	names, _ := entries(t, data)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			changed := rezip(t, data, func(n string, b []byte) []byte {
				if n == name {
					b = changeByte(b)
				}
				return b
			})
			r, _ := verifyofd.Verify(changed, verifyofd.Options{Roots: []*gm.Certificate{f.root}, At: f.at.Add(time.Hour)})
			want := verifyofd.DocumentModified
			switch name {
			case "Doc_0/Signs/Sign_0/Signature.xml":
				want = verifyofd.SignatureInvalid
			case "Doc_0/Signs/Signatures.xml":
				want = verifyofd.Valid
			case "Doc_0/Signs/Sign_0/SignedValue.dat":
				if r.Verdict == verifyofd.Valid {
					t.Fatalf("%s changed and still VALID", name)
				}
				return
			}
			if r.Verdict != want {
				t.Fatalf("verdict %s (%s), want %s", r.Verdict, r.Detail, want)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	f := load(t)
	cl, _ := catalog.Default().Lookup("resident-id-card")
	l := licence(t, f, cl, samples(t)[cl.Key])
	a, err := ofdfile.Build(l, f.sealer, ofdfile.Options{At: f.at})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ofdfile.Build(l, f.sealer, ofdfile.Options{At: f.at.Add(999 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two builds at the same second differ")
	}
	c, err := ofdfile.Build(l, f.sealer, ofdfile.Options{At: f.at.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Fatal("builds a second apart are equal")
	}
}

// TestGolden keeps the business licence's file byte for byte.
func TestGolden(t *testing.T) {
	f := load(t)
	cl, _ := catalog.Default().Lookup("business-license")
	data, err := ofdfile.Build(licence(t, f, cl, samples(t)[cl.Key]), f.sealer, ofdfile.Options{At: f.at, ProviderVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/business-license.ofd"
	if *update {
		if err := os.WriteFile(golden, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(data, want) {
		t.Fatalf("the file differs from %s (%d bytes, want %d); -update rewrites it", golden, len(data), len(want))
	}
	if r := verify(t, f, want); r.Verdict != verifyofd.Valid {
		t.Fatalf("golden verdict %s: %s", r.Verdict, r.Detail)
	}
}

// TestLongFields lays out fields that do not fit on one page.
func TestLongFields(t *testing.T) {
	f := load(t)
	cl, _ := catalog.Default().Lookup("business-license")
	fields := map[string]string{}
	for k, v := range samples(t)[cl.Key] {
		fields[k] = v
	}
	fields["business_scope"] = strings.Repeat("一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务。\n", 40)
	data, err := ofdfile.Build(licence(t, f, cl, fields), f.sealer, ofdfile.Options{At: f.at})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ofd.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := p.Document(p.Root.Bodies[0].DocRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Pages) < 2 {
		t.Fatalf("%d page(s), want more", len(doc.Pages))
	}
	sig, err := p.Signatures("Doc_0/Signs/Signatures.xml")
	if err != nil {
		t.Fatal(err)
	}
	x, err := p.Signature(sig.List[0].BaseLoc)
	if err != nil {
		t.Fatal(err)
	}
	if x.StampAnnots[0].PageRef != doc.Pages[len(doc.Pages)-1].ID {
		t.Errorf("seal on page %s, want the last (%s)", x.StampAnnots[0].PageRef, doc.Pages[len(doc.Pages)-1].ID)
	}
	if r := verify(t, f, data); r.Verdict != verifyofd.Valid {
		t.Fatalf("verdict %s: %s", r.Verdict, r.Detail)
	}
}

func TestBuildRefuses(t *testing.T) {
	f := load(t)
	cl, _ := catalog.Default().Lookup("business-license")
	good := licence(t, f, cl, samples(t)[cl.Key])
	noID := *good
	noID.ID = ""
	noClass := *good
	noClass.Class = nil
	for _, tc := range []struct {
		name string
		l    *ofdfile.Licence
		s    ofdfile.Sealer
		at   time.Time
		want error
	}{
		{"no licence", nil, f.sealer, f.at, ofdfile.ErrInvalid},
		{"no class", &noClass, f.sealer, f.at, ofdfile.ErrInvalid},
		{"no identifier", &noID, f.sealer, f.at, ofdfile.ErrInvalid},
		{"no seal", good, ofdfile.Sealer{Cert: f.sealer.Cert, Signer: f.sealer.Signer}, f.at, ofdfile.ErrInvalid},
		{"no key", good, ofdfile.Sealer{Seal: f.sealer.Seal, Cert: f.sealer.Cert}, f.at, ofdfile.ErrInvalid},
		{"before the seal", good, f.sealer, f.sealer.Seal.Info.Property.ValidStart.Time().Add(-time.Hour), ses.ErrSealNotValid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ofdfile.Build(tc.l, tc.s, ofdfile.Options{At: tc.at})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func BenchmarkBuildOFD(b *testing.B) {
	f := load(b)
	cl, _ := catalog.Default().Lookup("business-license")
	l := licence(b, f, cl, samples(b)[cl.Key])
	var n, ops int
	cpu := proccpu.Used()
	for b.Loop() {
		data, err := ofdfile.Build(l, f.sealer, ofdfile.Options{At: f.at})
		if err != nil {
			b.Fatal(err)
		}
		n = len(data)
		ops++
	}
	// The process's CPU time an op, which other work on the machine
	// blurs less than ns/op.
	b.ReportMetric(float64((proccpu.Used()-cpu).Microseconds())/float64(ops), "cpu-µs/op")
	b.ReportMetric(float64(n), "bytes/file")
}

func entries(t testing.TB, data []byte) ([]string, map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	files := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, zf.Name)
		files[zf.Name] = b
	}
	return names, files
}

func rezip(t testing.TB, data []byte, edit func(string, []byte) []byte) []byte {
	t.Helper()
	names, files := entries(t, data)
	var w ofd.Writer
	for _, n := range names {
		if err := w.Add(n, edit(n, files[n])); err != nil {
			t.Fatal(err)
		}
	}
	out, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// changeByte changes one byte and keeps XML well-formed: the case of the
// "u" of the declared encoding, or else the middle byte.
func changeByte(b []byte) []byte {
	out := bytes.Clone(b)
	if i := bytes.Index(out, []byte(`encoding="UTF-8"`)); i >= 0 {
		out[i+len(`encoding="`)] ^= 0x20
		return out
	}
	out[len(out)/2] ^= 0x01
	return out
}

// BenchmarkVerifyOFD is the time a relying party takes to open and verify
// one of these files (verifier/ofd, trust by the PKI's root).
func BenchmarkVerifyOFD(b *testing.B) {
	f := load(b)
	cl, _ := catalog.Default().Lookup("business-license")
	data, err := ofdfile.Build(licence(b, f, cl, samples(b)[cl.Key]), f.sealer, ofdfile.Options{At: f.at})
	if err != nil {
		b.Fatal(err)
	}
	opts := verifyofd.Options{Roots: []*gm.Certificate{f.root}, At: f.at.Add(time.Hour)}
	for b.Loop() {
		if r, err := verifyofd.Verify(data, opts); err != nil || r.Verdict != verifyofd.Valid {
			b.Fatalf("%v %v", r.Verdict, err)
		}
	}
}

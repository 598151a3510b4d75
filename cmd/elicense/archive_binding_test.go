package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	format "elicense/certs/archive"
	"elicense/certs/ofd"
	"elicense/certs/ses"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/issuer/archive"
	"elicense/issuer/service"
	varchive "elicense/verifier/archive"
)

// resealFirst changes the first version's OFD file with edit (its files
// by name), re-seals it as of at (zero: its own time) with the package
// agency's own seal and key, and rewrites metadata.json to match: what
// the holder of the agency's key can do. Only the credential and the
// ledger then say what was issued.
func (f *forgery) resealFirst(edit func(files map[string][]byte), at time.Time) crypto.Signer {
	for _, name := range f.names {
		if !strings.HasSuffix(name, "/"+format.OFDFile) {
			continue
		}
		names, files := unpackArchive(f.t, f.files[name])
		const sigXML, value = "Doc_0/Signs/Sign_0/Signature.xml", "Doc_0/Signs/Sign_0/SignedValue.dat"
		old, err := ses.ParseSignature(files[value])
		if err != nil {
			f.t.Fatal(err)
		}
		before := map[string][]byte{}
		for n, b := range files {
			before[n] = b
		}
		edit(files)
		sx := files[sigXML]
		for n, b := range files {
			if !bytes.Equal(before[n], b) {
				was, now := gm.SM3(before[n]), gm.SM3(b)
				sx = bytes.ReplaceAll(sx, []byte(base64.StdEncoding.EncodeToString(was[:])), []byte(base64.StdEncoding.EncodeToString(now[:])))
			}
		}
		oldAt := old.TBS.TimeInfo.Time()
		if at.IsZero() {
			at = oldAt
		}
		sx = bytes.ReplaceAll(sx, []byte(oldAt.UTC().Format("20060102150405Z")), []byte(at.UTC().Format("20060102150405Z")))
		files[sigXML] = sx
		sig, err := ses.SignDocument(old.TBS.Seal, f.a.CertDER, f.a.Signer, sx, at, sigXML)
		if err != nil {
			f.t.Fatal(err)
		}
		files[value] = sig.Raw
		f.files[name] = ofdPackage(f.t, names, files)
		pkg, err := ofd.Open(f.files[name], nil)
		if err != nil {
			f.t.Fatal(err)
		}
		mdName := strings.TrimSuffix(name, format.OFDFile) + format.MetadataFile
		md, err := format.ParseMetadata(f.files[mdName])
		if err != nil {
			f.t.Fatal(err)
		}
		md.Items = nil
		for _, cd := range pkg.Root.Bodies[0].CustomData {
			md.Items = append(md.Items, format.Item{Name: cd.Name, Value: cd.Value})
		}
		md.SignedAt = at.UTC()
		if f.files[mdName], err = format.Marshal(md); err != nil {
			f.t.Fatal(err)
		}
		return f.a.Signer
	}
	f.t.Fatal("no licence.ofd")
	return nil
}

// replaceIn replaces old by new in the named files, and fails if one
// does not hold old.
func replaceIn(t *testing.T, files map[string][]byte, old, new string, names ...string) {
	for _, n := range names {
		if !bytes.Contains(files[n], []byte(old)) {
			t.Fatalf("%s does not hold %q", n, old)
		}
		files[n] = bytes.ReplaceAll(files[n], []byte(old), []byte(new))
	}
}

// holderOf is the first version's 持证主体 as its metadata says.
func (f *forgery) holderOf() string {
	for _, name := range f.names {
		if strings.HasSuffix(name, "/"+format.MetadataFile) {
			md, err := format.ParseMetadata(f.files[name])
			if err != nil {
				f.t.Fatal(err)
			}
			for _, it := range md.Items {
				if it.Name == format.ItemHolder {
					return it.Value
				}
			}
		}
	}
	f.t.Fatal("no 持证主体")
	return ""
}

const (
	ofdXML     = "OFD.xml"
	pageXML    = "Doc_0/Pages/Page_0/Content.xml"
	otherHolde = "上海伪造示例贸易有限公司（变更）"
)

// A package whose OFD file is re-sealed with the agency's own key, with
// another holder in its metadata and on its page and metadata.json to
// match, or another value of any field on its page, is INVALID naming
// the field: the file must say and show what the ledger-anchored
// credential says.
func TestArchiveBoundToCredential(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	fx := newArchiveFixture(t, 3, t0)
	from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	fx.set(to.Add(time.Hour))
	pkg, _ := fx.export(t, from, to)
	p := fx.svc.PKI()
	agA, _ := p.Agency(fx.agency)
	for _, tc := range []struct {
		name  string
		forge forge
		want  string
	}{
		{"re-sealed unchanged", func(f *forgery) crypto.Signer {
			return f.resealFirst(func(map[string][]byte) {}, time.Time{})
		}, ""},
		{"another holder, in the items and on the page", func(f *forgery) crypto.Signer {
			h := f.holderOf()
			return f.resealFirst(func(files map[string][]byte) { replaceIn(f.t, files, h, otherHolde, ofdXML, pageXML) }, time.Time{})
		}, "licence.ofd: 持证主体 \"" + otherHolde + "\", the credential's is"},
		{"another holder on the page only", func(f *forgery) crypto.Signer {
			h := f.holderOf()
			return f.resealFirst(func(files map[string][]byte) { replaceIn(f.t, files, h, otherHolde, pageXML) }, time.Time{})
		}, "licence.ofd: the page does not show 名称 (name) \""},
		{"another field value on the page only", func(f *forgery) crypto.Signer {
			return f.resealFirst(func(files map[string][]byte) {
				replaceIn(f.t, files, "人民币500.0000万元整", "人民币5000.0000万元整", pageXML)
			}, time.Time{})
		}, "licence.ofd: the page does not show 注册资本 (registered_capital) \"人民币500.0000万元整\", the credential's; it shows \"人民币5000.0000万元\""},
		{"a line added to the page", func(f *forgery) crypto.Signer {
			return f.resealFirst(func(files map[string][]byte) {
				replaceIn(f.t, files, "</ofd:Layer>", `<ofd:TextObject ID="999" Boundary="22 200 40 5" Font="1" Size="3.5"><ofd:TextCode X="0" Y="3.5">已注销</ofd:TextCode></ofd:TextObject></ofd:Layer>`, pageXML)
			}, time.Time{})
		}, "licence.ofd: the page shows \"已注销\" after the last item"},
		{"an item dropped", func(f *forgery) crypto.Signer {
			return f.resealFirst(func(files map[string][]byte) {
				replaceIn(f.t, files, `<ofd:CustomData Name="有效期截止日期">`, `<ofd:CustomData Name="备注">`, ofdXML)
			}, time.Time{})
		}, "licence.ofd: no 有效期截止日期"},
		{"an item added", func(f *forgery) crypto.Signer {
			return f.resealFirst(func(files map[string][]byte) {
				replaceIn(f.t, files, `<ofd:CustomData Name="颁发机构">`, `<ofd:CustomData Name="证照编号">X</ofd:CustomData><ofd:CustomData Name="颁发机构">`, ofdXML)
			}, time.Time{})
		}, "licence.ofd: 证照编号 \"X\", which the credential does not have"},
		{"re-sealed after the period", func(f *forgery) crypto.Signer {
			return f.resealFirst(func(map[string][]byte) {}, to.Add(time.Minute))
		}, "after the period's end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkForgery(t, pkg, &forgery{t: t, p: p, a: agA}, tc.forge, nil, varchive.Mismatch, tc.want)
		})
	}
}

// With a synced trust bundle, the package's agency keys are checked
// against it: a key it does not list, or lists with another certificate,
// is not trusted, and a key it says is compromised is a finding even if
// the package's keys.json says active. Without one the report says the
// keys were not cross-checked.
func TestArchiveKeysCrossChecked(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	fx := newArchiveFixture(t, 1, t0)
	from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	fx.set(to.Add(time.Hour))
	pkg, _ := fx.export(t, from, to)
	p := fx.svc.PKI()
	agA, _ := p.Agency(fx.agency)
	agB := p.Agencies[1]
	bundle := func(code string, keys ...trust.AgencyKey) *trust.Bundle {
		// Synced after the export: a bundle older than the package cannot
		// know its keys (TestArchiveBundleOlderThanPackage).
		return &trust.Bundle{Seq: 7, IssuedAt: to.Add(2 * time.Hour), Agencies: []trust.Agency{{Code: code, Keys: keys}}}
	}
	for _, tc := range []struct {
		name   string
		bundle *trust.Bundle
		want   string // "" VALID
	}{
		{"no bundle", nil, ""},
		{"the bundle's key", bundle(agA.Code, trust.AgencyKey{KID: agA.KeyID, Cert: agA.CertDER, State: trust.KeyActive}), ""},
		{"retired since, as a rotation after the export", bundle(agA.Code, trust.AgencyKey{KID: agA.KeyID, Cert: agA.CertDER, State: trust.KeyRetired, Since: to.Add(time.Hour)}), ""},
		{"compromised", bundle(agA.Code, trust.AgencyKey{KID: agA.KeyID, Cert: agA.CertDER, State: trust.KeyCompromised, Since: from}), "the synced trust bundle says compromised since"},
		{"not listed", bundle(agA.Code, trust.AgencyKey{KID: agB.KeyID, Cert: agB.CertDER, State: trust.KeyActive}), "not a key of agency " + agA.Code + " in the synced trust bundle"},
		{"another certificate", bundle(agA.Code, trust.AgencyKey{KID: agA.KeyID, Cert: agB.CertDER, State: trust.KeyActive}), "not the certificate the synced trust bundle has"},
		{"agency unknown", bundle(agB.Code), "agency " + agA.Code + " is not in the synced trust bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := varchive.Verify(bytes.NewReader(pkg), int64(len(pkg)), varchive.Options{Roots: []*gm.Certificate{p.Root}, Bundle: tc.bundle})
			if err != nil {
				t.Fatal(err)
			}
			if rep.KeysCrossChecked != (tc.bundle != nil) {
				t.Errorf("keys_cross_checked %v", rep.KeysCrossChecked)
			}
			wantVerdict(t, rep, varchive.Untrusted, tc.want)
		})
	}
}

// A package unzipped and zipped again (zip -r: directory entries, every
// file deflated) is still VALID; a second copy of an entry is INVALID,
// naming it.
func TestArchiveRezipped(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	fx := newArchiveFixture(t, 1, t0)
	from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	fx.set(to.Add(time.Hour))
	pkg, _ := fx.export(t, from, to)
	p := fx.svc.PKI()
	names, files := unpackArchive(t, pkg)
	rezip := func(dup string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		dirs := map[string]bool{}
		for _, n := range names {
			for d := path.Dir(n); d != "."; d = path.Dir(d) {
				if !dirs[d] {
					dirs[d] = true
					if _, err := zw.Create(d + "/"); err != nil {
						t.Fatal(err)
					}
				}
			}
			copies := 1
			if n == dup {
				copies = 2
			}
			for range copies {
				w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate})
				if err != nil {
					t.Fatal(err)
				}
				w.Write(files[n])
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	var credential string
	for _, n := range names {
		if strings.HasSuffix(n, "/"+format.CredentialFile) {
			credential = n
		}
	}
	for _, tc := range []struct{ dup, want string }{{"", ""}, {credential, "zip entry " + credential + ": twice in the package"}} {
		b := rezip(tc.dup)
		rep, err := varchive.Verify(bytes.NewReader(b), int64(len(b)), varchive.Options{Roots: []*gm.Certificate{p.Root}})
		if err != nil {
			t.Fatalf("%q: %v", tc.dup, err)
		}
		wantVerdict(t, rep, varchive.Fixity, tc.want)
	}
}

// A period in which the agency issued or changed nothing is refused
// (NOTHING_TO_ARCHIVE, as `elicense archive` says it) with no file
// written and nothing recorded.
func TestArchiveNothing(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	fx := newArchiveFixture(t, 1, t0)
	fx.set(t0.Add(48 * time.Hour))
	before := fx.data.Ledger.Size()
	out := filepath.Join(t.TempDir(), "pkg.zip")
	_, err := exportAndRecord(context.Background(), fx.svc, archive.Options{Agency: fx.agency, From: t0.Add(24 * time.Hour), To: t0.Add(25 * time.Hour)}, out,
		service.Operator{Subject: "admin", Role: service.RoleAdmin})
	var se *service.Error
	if !errors.As(err, &se) || se.Code != service.CodeNothingToArchive || !strings.Contains(err.Error(), "issued or changed no licence") {
		t.Fatalf("got %v, want %s", err, service.CodeNothingToArchive)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a package was written: %v", err)
	}
	if after := fx.data.Ledger.Size(); after != before {
		t.Errorf("the ledger grew from %d to %d", before, after)
	}
}

// A period exported after the agency's key and licence-face seal were
// rotated: its files are sealed with the new key, as of the new seal's
// start, after the period's end (the earliest time the seal allows), and
// the package is VALID: the credential's key was retired by then.
func TestArchiveAfterRotation(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	fx := newArchiveFixture(t, 3, t0)
	from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	fx.set(to.Add(time.Hour))
	if _, err := fx.svc.RotateKey(context.Background(), service.Operator{Subject: "admin", Role: service.RoleAdmin}, fx.agency, service.RotateRequest{}); err != nil {
		t.Fatal(err)
	}
	fx.set(to.Add(2 * time.Hour))
	pkg, _ := fx.export(t, from, to)
	rep, err := varchive.Verify(bytes.NewReader(pkg), int64(len(pkg)), varchive.Options{Roots: []*gm.Certificate{fx.svc.PKI().Root}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != varchive.Valid {
		t.Fatalf("%s:\n%s", rep.Verdict, problemText(rep))
	}
}

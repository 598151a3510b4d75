package main

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"io"
	"strings"
	"testing"
	"time"

	format "elicense/certs/archive"
	"elicense/certs/ofd"
	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/pki"
	varchive "elicense/verifier/archive"
)

// unpackArchive returns a package's entries in order.
func unpackArchive(t *testing.T, b []byte) ([]string, map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		d, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, f.Name)
		files[f.Name] = d
	}
	return names, files
}

// repackArchive lists names (the manifest and its signature left out)
// with fresh fixity values in m, signs the manifest with signer (a forger
// holding some real key) and zips them.
func repackArchive(t *testing.T, names []string, files map[string][]byte, m *format.Manifest, signer crypto.Signer) []byte {
	t.Helper()
	m.Files = nil
	for _, n := range names {
		if n != format.ManifestPath && n != format.SignaturePath {
			m.Files = append(m.Files, format.File{Path: n, Size: int64(len(files[n])), SM3: gm.SM3(files[n])})
		}
	}
	mb, err := format.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := gm.Sign(signer, mb)
	if err != nil {
		t.Fatal(err)
	}
	files[format.ManifestPath], files[format.SignaturePath] = mb, sig
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range append(names, format.ManifestPath, format.SignaturePath) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// forgery is an unpacked package a forger changes: its files (the
// manifest and its signature aside, in order), the manifest to re-sign,
// the PKI, and two agencies: a, the package's, and b, another.
type forgery struct {
	t     *testing.T
	p     *pki.PKI
	a, b  *pki.Agency
	m     *format.Manifest
	names []string
	files map[string][]byte
}

// A forge changes f and returns the key that signs the manifest.
type forge func(f *forgery) crypto.Signer

func forgeNothing(f *forgery) crypto.Signer { return f.a.Signer }

// forgeLedgerAsAgency re-signs the checkpoint with the agency key and
// ships the agency's certificate as the ledger's.
func forgeLedgerAsAgency(f *forgery) crypto.Signer {
	v, err := tlog.NewNoteVerifier(f.m.Origin, f.p.Ledger.Cert.PublicKey.(*ecdsa.PublicKey))
	if err != nil {
		f.t.Fatal(err)
	}
	cp, err := tlog.VerifyCheckpoint(f.files[format.CheckpointPath], f.m.Origin, v)
	if err != nil {
		f.t.Fatal(err)
	}
	ns, err := tlog.NewNoteSigner(f.m.Origin, f.a.Signer)
	if err != nil {
		f.t.Fatal(err)
	}
	if f.files[format.CheckpointPath], err = tlog.SignCheckpoint(cp, ns); err != nil {
		f.t.Fatal(err)
	}
	f.files[format.LedgerCertPath] = f.a.CertDER
	return f.a.Signer
}

// forgeOtherAgency: agency b signs an (empty) archive in agency a's name.
func forgeOtherAgency(f *forgery) crypto.Signer {
	var keep []string
	for _, n := range f.names {
		if _, _, ok := format.LicenceOf(n); ok || strings.HasPrefix(n, "trust/agency/") {
			continue
		}
		keep = append(keep, n)
		if n == format.LedgerCertPath {
			keep = append(keep, format.AgencyCertPath(f.b.KeyID))
		}
	}
	f.names = keep
	f.files[format.AgencyCertPath(f.b.KeyID)] = f.b.CertDER
	kb, err := format.Marshal(format.Keys{Agency: f.a.Code, Name: f.a.Name, Keys: []format.Key{{KeyID: f.b.KeyID, State: format.KeyActive}}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.files[format.KeysPath] = kb
	f.m.Signer, f.m.Count = f.b.KeyID, 0
	return f.b.Signer
}

// editMetadata changes the first metadata.json for which edit reports a
// change, and fails if none does.
func (f *forgery) editMetadata(edit func(md *format.Metadata) bool) crypto.Signer {
	for _, name := range f.names {
		if !strings.HasSuffix(name, "/"+format.MetadataFile) {
			continue
		}
		md, err := format.ParseMetadata(f.files[name])
		if err != nil {
			f.t.Fatal(err)
		}
		if edit(md) {
			if f.files[name], err = format.Marshal(md); err != nil {
				f.t.Fatal(err)
			}
			return f.a.Signer
		}
	}
	f.t.Fatal("no metadata.json to change")
	return nil
}

// forgeStatus says valid where the events say suspended.
func forgeStatus(f *forgery) crypto.Signer {
	return f.editMetadata(func(md *format.Metadata) bool {
		if md.Status != format.StatusSuspended {
			return false
		}
		md.Status = format.StatusValid
		return true
	})
}

func forgeSignedAt(f *forgery) crypto.Signer {
	return f.editMetadata(func(md *format.Metadata) bool {
		md.SignedAt = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
		return true
	})
}

func forgeItem(f *forgery) crypto.Signer {
	return f.editMetadata(func(md *format.Metadata) bool {
		md.Items[len(md.Items)-1].Value += "X"
		return true
	})
}

// forgeSwapOFD swaps the OFD files of the first two versions.
func forgeSwapOFD(f *forgery) crypto.Signer {
	var ofds []string
	for _, name := range f.names {
		if strings.HasSuffix(name, "/"+format.OFDFile) {
			ofds = append(ofds, name)
		}
	}
	f.files[ofds[0]], f.files[ofds[1]] = f.files[ofds[1]], f.files[ofds[0]]
	return f.a.Signer
}

// forgeOtherAgencySeal re-seals the first version's OFD file with a
// licence-face seal of agency b (its files, and so its references and
// metadata, unchanged): a file sealed by a key the root certified, but not
// the package's agency's.
func forgeOtherAgencySeal(f *forgery) crypto.Signer {
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
		at := old.TBS.TimeInfo.Time()
		pic := old.TBS.Seal.Info.Picture
		info, err := ses.NewSealInfo(ses.SealParams{ESID: "FORGED0000000001", Type: ses.TypeOfficial, Name: "伪造的电子证照专用章",
			SignerCerts: [][]byte{f.b.CertDER}, ValidStart: at.Add(-time.Hour), ValidEnd: at.Add(24 * time.Hour),
			Picture: pic.Data, WidthMM: pic.Width, HeightMM: pic.Height})
		if err != nil {
			f.t.Fatal(err)
		}
		seal, err := ses.SignSeal(info, f.b.CertDER, f.b.Signer)
		if err != nil {
			f.t.Fatal(err)
		}
		sig, err := ses.SignDocument(seal, f.b.CertDER, f.b.Signer, files[sigXML], at, sigXML)
		if err != nil {
			f.t.Fatal(err)
		}
		files[value] = sig.Raw
		f.files[name] = ofdPackage(f.t, names, files)
		return f.a.Signer
	}
	f.t.Fatal("no licence.ofd")
	return nil
}

// A package re-signed by a key that is not the agency's own, or whose
// checkpoint is signed by a key that is not the ledger's, or whose
// metadata states what its events or its OFD file do not, is INVALID, with
// a problem of the right code, even when every file's fixity is
// consistent with a manifest signed by a real key of the PKI.
func TestArchiveForgeries(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	fx := newArchiveFixture(t, 3, t0)
	from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	fx.set(to.Add(time.Hour))
	pkg, _ := fx.export(t, from, to)
	p := fx.svc.PKI()
	agA, _ := p.Agency(fx.agency)
	agB := p.Agencies[1]
	if agB.Code == agA.Code {
		agB = p.Agencies[0]
	}
	for _, tc := range []struct {
		name   string
		forge  forge
		ledger []*gm.Certificate // Options.Ledger
		code   varchive.Code     // of the problem that says it
		want   string            // in a problem of the package or of a licence; "" VALID
	}{
		{"as exported, re-signed by its agency", forgeNothing, nil, "", ""},
		{"agency key as the ledger key: re-signed checkpoint", forgeLedgerAsAgency, nil, varchive.Untrusted, "has role agency, want ledger"},
		{"agency B signs agency A's archive", forgeOtherAgency, nil, varchive.Untrusted, "a key of agency " + agB.Code + ", not of " + agA.Code},
		{"metadata says valid, events say suspended", forgeStatus, nil, varchive.Status, `metadata.json: status "valid", the events say "suspended"`},
		{"metadata's OFD signing time changed", forgeSignedAt, nil, varchive.OFD, "licence.ofd: not the one signature as of 2001-01-01T00:00:00Z"},
		{"another version's OFD file", forgeSwapOFD, nil, varchive.OFD, "licence.ofd: is not the file of"},
		{"a metadata item changed", forgeItem, nil, varchive.OFD, "metadata.json: its items are not the CustomDatas of licence.ofd"},
		{"OFD file sealed by another agency", forgeOtherAgencySeal, nil, varchive.OFD, "licence.ofd: UNTRUSTED_MAKER"},
		{"ledger key pinned, another in the package", forgeNothing, []*gm.Certificate{agB.Cert}, varchive.Untrusted, "trust/ledger.cer: not the pinned ledger key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkForgery(t, pkg, &forgery{t: t, p: p, a: agA, b: agB}, tc.forge, tc.ledger, tc.code, tc.want)
		})
	}
}

// checkForgery forges pkg as forge does and checks the verdict.
func checkForgery(t *testing.T, pkg []byte, f *forgery, forge forge, ledger []*gm.Certificate, code varchive.Code, want string) {
	names, files := unpackArchive(t, pkg)
	m, err := format.ParseManifest(files[format.ManifestPath])
	if err != nil {
		t.Fatal(err)
	}
	if n := len(names); n < 2 || names[n-2] != format.ManifestPath || names[n-1] != format.SignaturePath {
		t.Fatalf("package does not end with the manifest and its signature: %q", names)
	}
	f.m, f.names, f.files = m, names[:len(names)-2], files
	signer := forge(f)
	forged := repackArchive(t, f.names, files, m, signer)
	rep, err := varchive.Verify(bytes.NewReader(forged), int64(len(forged)), varchive.Options{Roots: []*gm.Certificate{f.p.Root}, Ledger: ledger})
	if err != nil {
		t.Fatal(err)
	}
	problems := problemText(rep)
	switch {
	case want == "" && (!rep.OK || rep.Verdict != varchive.Valid):
		t.Fatalf("the untouched package is %s: %s", rep.Verdict, problems)
	case want == "":
	case rep.OK || rep.Verdict != varchive.Invalid:
		t.Fatalf("a forged package is %s", rep.Verdict)
	case !hasProblem(rep, code, want):
		t.Errorf("problems:\n%s\nwant a %s one containing %q", problems, code, want)
	}
}

// hasProblem reports whether rep has a problem of code whose message
// contains want.
// wantVerdict fails t unless rep is VALID (want "") or INVALID with a
// problem of code containing want.
func wantVerdict(t *testing.T, rep *varchive.Report, code varchive.Code, want string) {
	t.Helper()
	switch {
	case want == "" && rep.Verdict != varchive.Valid:
		t.Fatalf("%s:\n%s", rep.Verdict, problemText(rep))
	case want != "" && (rep.Verdict != varchive.Invalid || !hasProblem(rep, code, want)):
		t.Fatalf("%s:\n%s\nwant a %s problem containing %q", rep.Verdict, problemText(rep), code, want)
	}
}

func hasProblem(rep *varchive.Report, code varchive.Code, want string) bool {
	all := rep.Problems
	for _, l := range rep.Licences {
		all = append(all, l.Problems...)
	}
	for _, p := range all {
		if p.Code == code && strings.Contains(p.Message, want) {
			return true
		}
	}
	return false
}

// ofdPackage writes files (by name, in names' order) as an OFD package.
func ofdPackage(t testing.TB, names []string, files map[string][]byte) []byte {
	t.Helper()
	var w ofd.Writer
	for _, n := range names {
		if err := w.Add(n, files[n]); err != nil {
			t.Fatal(err)
		}
	}
	b, err := w.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

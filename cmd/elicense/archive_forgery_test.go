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

// archiveForgery changes an unpacked package and returns what it is
// signed with.
type archiveForgery func(t *testing.T, p *pki.PKI, m *format.Manifest, names []string, files map[string][]byte) ([]string, crypto.Signer)

// A package re-signed by a key that is not the agency's own, or whose
// checkpoint is signed by a key that is not the ledger's, or whose
// metadata states a status its events do not prove, is not OK, even when
// every file's fixity is consistent with a manifest signed by a real key
// of the PKI.
func TestArchiveForgeries(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	f := newArchiveFixture(t, 3, t0)
	from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	f.set(to.Add(time.Hour))
	pkg, _ := f.export(t, from, to)
	p := f.svc.PKI()
	agA, _ := p.Agency(f.agency)
	agB := p.Agencies[1]
	if agB.Code == agA.Code {
		agB = p.Agencies[0]
	}
	for _, tc := range []struct {
		name   string
		forge  archiveForgery
		ledger []*gm.Certificate // Options.Ledger
		code   varchive.Code     // of the problem that says it
		want   string            // in a problem of the package or of a licence
	}{
		{name: "as exported, re-signed by its agency", want: "",
			forge: func(t *testing.T, _ *pki.PKI, _ *format.Manifest, names []string, _ map[string][]byte) ([]string, crypto.Signer) {
				return names, agA.Signer
			}},
		{name: "agency key as the ledger key: re-signed checkpoint", code: varchive.Untrusted, want: "has role agency, want ledger",
			forge: func(t *testing.T, p *pki.PKI, m *format.Manifest, names []string, files map[string][]byte) ([]string, crypto.Signer) {
				v, err := tlog.NewNoteVerifier(m.Origin, p.Ledger.Cert.PublicKey.(*ecdsa.PublicKey))
				if err != nil {
					t.Fatal(err)
				}
				cp, err := tlog.VerifyCheckpoint(files[format.CheckpointPath], m.Origin, v)
				if err != nil {
					t.Fatal(err)
				}
				ns, err := tlog.NewNoteSigner(m.Origin, agA.Signer)
				if err != nil {
					t.Fatal(err)
				}
				if files[format.CheckpointPath], err = tlog.SignCheckpoint(cp, ns); err != nil {
					t.Fatal(err)
				}
				files[format.LedgerCertPath] = agA.CertDER
				return names, agA.Signer
			}},
		{name: "agency B signs agency A's archive", code: varchive.Untrusted, want: "a key of agency " + agB.Code + ", not of " + agA.Code,
			forge: func(t *testing.T, _ *pki.PKI, m *format.Manifest, names []string, files map[string][]byte) ([]string, crypto.Signer) {
				var keep []string
				for _, n := range names {
					if _, _, ok := format.LicenceOf(n); ok || strings.HasPrefix(n, "trust/agency/") {
						continue
					}
					keep = append(keep, n)
					if n == format.LedgerCertPath {
						keep = append(keep, format.AgencyCertPath(agB.KeyID))
					}
				}
				files[format.AgencyCertPath(agB.KeyID)] = agB.CertDER
				kb, err := format.Marshal(format.Keys{Agency: agA.Code, Name: agA.Name, Keys: []format.Key{{KeyID: agB.KeyID, State: format.KeyActive}}})
				if err != nil {
					t.Fatal(err)
				}
				files[format.KeysPath] = kb
				m.Signer, m.Count = agB.KeyID, 0
				return keep, agB.Signer
			}},
		{name: "metadata says valid, events say suspended", code: varchive.Status, want: `metadata.json: status "valid", the events say "suspended"`,
			forge: func(t *testing.T, _ *pki.PKI, _ *format.Manifest, names []string, files map[string][]byte) ([]string, crypto.Signer) {
				n := 0
				for _, name := range names {
					if strings.HasSuffix(name, "/"+format.MetadataFile) && bytes.Contains(files[name], []byte(`"status":"suspended"`)) {
						files[name] = bytes.Replace(files[name], []byte(`"status":"suspended"`), []byte(`"status":"valid"`), 1)
						n++
					}
				}
				if n != 1 {
					t.Fatalf("%d suspended licences in the fixture, want 1", n)
				}
				return names, agA.Signer
			}},
		{name: "metadata's OFD signing time changed", code: varchive.OFD, want: "licence.ofd: not the one signature as of 2001-01-01T00:00:00Z",
			forge: func(t *testing.T, _ *pki.PKI, _ *format.Manifest, names []string, files map[string][]byte) ([]string, crypto.Signer) {
				for _, name := range names {
					if strings.HasSuffix(name, "/"+format.MetadataFile) {
						md, err := format.ParseMetadata(files[name])
						if err != nil || md.SignedAt.IsZero() {
							t.Fatalf("%s: signed at %v, %v", name, md.SignedAt, err)
						}
						md.SignedAt = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
						if files[name], err = format.Marshal(md); err != nil {
							t.Fatal(err)
						}
						break
					}
				}
				return names, agA.Signer
			}},
		{name: "another version's OFD file", code: varchive.OFD, want: "licence.ofd: is not the file of",
			forge: func(t *testing.T, _ *pki.PKI, _ *format.Manifest, names []string, files map[string][]byte) ([]string, crypto.Signer) {
				var ofds []string
				for _, name := range names {
					if strings.HasSuffix(name, "/"+format.OFDFile) {
						ofds = append(ofds, name)
					}
				}
				files[ofds[0]], files[ofds[1]] = files[ofds[1]], files[ofds[0]]
				return names, agA.Signer
			}},
		{name: "a metadata item changed", code: varchive.OFD, want: "metadata.json: its items are not the CustomDatas of licence.ofd",
			forge: func(t *testing.T, _ *pki.PKI, _ *format.Manifest, names []string, files map[string][]byte) ([]string, crypto.Signer) {
				for _, name := range names {
					if strings.HasSuffix(name, "/"+format.MetadataFile) {
						md, err := format.ParseMetadata(files[name])
						if err != nil {
							t.Fatal(err)
						}
						md.Items[len(md.Items)-1].Value += "X"
						if files[name], err = format.Marshal(md); err != nil {
							t.Fatal(err)
						}
						break
					}
				}
				return names, agA.Signer
			}},
		{name: "ledger key pinned, another in the package", ledger: []*gm.Certificate{agB.Cert}, code: varchive.Untrusted, want: "trust/ledger.cer: not the pinned ledger key",
			forge: func(t *testing.T, _ *pki.PKI, _ *format.Manifest, names []string, _ map[string][]byte) ([]string, crypto.Signer) {
				return names, agA.Signer
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			names, files := unpackArchive(t, pkg)
			m, err := format.ParseManifest(files[format.ManifestPath])
			if err != nil {
				t.Fatal(err)
			}
			if n := len(names); n < 2 || names[n-2] != format.ManifestPath || names[n-1] != format.SignaturePath {
				t.Fatalf("package does not end with the manifest and its signature: %q", names)
			}
			names, signer := tc.forge(t, p, m, names[:len(names)-2], files)
			forged := repackArchive(t, names, files, m, signer)
			rep, err := varchive.Verify(bytes.NewReader(forged), int64(len(forged)), varchive.Options{Roots: []*gm.Certificate{p.Root}, Ledger: tc.ledger})
			if err != nil {
				t.Fatal(err)
			}
			problems := problemText(rep)
			if tc.want == "" {
				if !rep.OK || rep.Verdict != varchive.Valid {
					t.Fatalf("the untouched package is %s: %s", rep.Verdict, problems)
				}
				return
			}
			if rep.OK || rep.Verdict != varchive.Invalid {
				t.Fatalf("a forged package is %s", rep.Verdict)
			}
			if !hasProblem(rep, tc.code, tc.want) {
				t.Errorf("problems:\n%s\nwant a %s one containing %q", problems, tc.code, tc.want)
			}
		})
	}
}

// hasProblem reports whether rep has a problem of code whose message
// contains want.
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

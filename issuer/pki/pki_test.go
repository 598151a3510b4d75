package pki

import (
	"bytes"
	"crypto/ecdsa"
	"elicense/internal/testneed"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/ident"
	"elicense/internal/gm"
)

var (
	testPass = []byte("correct horse battery staple")
	fastKeys = &gm.KeyEncryption{Iterations: 1000}
)

func testOpts(dir string) InitOptions {
	return InitOptions{Dir: dir, Passphrase: testPass, Agencies: DefaultAgencies(), KeyEncryption: fastKeys}
}

// newPKI makes a PKI in a fresh directory and returns its path.
func newPKI(t *testing.T) (string, *Result) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	res, err := Init(testOpts(dir))
	if err != nil {
		t.Fatal(err)
	}
	return dir, res
}

func TestDefaultAgencies(t *testing.T) {
	agencies := DefaultAgencies()
	if err := checkAgencies(agencies); err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	covered := map[string]string{}
	for _, a := range agencies {
		// Recompute the dev code from its parts.
		if !strings.HasPrefix(a.Code, "11310000PDY100") {
			t.Errorf("%s: %s is not a dev code", a.Name, a.Code)
		}
		oc, err := ident.OrgCodeCheckChar(a.Code[8:16])
		if err != nil || oc != a.Code[16] {
			t.Errorf("%s: org code check %c, %v", a.Code, oc, err)
		}
		uc, err := ident.USCCCheckChar(a.Code[:17])
		if err != nil || uc != a.Code[17] {
			t.Errorf("%s: USCC check %c, %v", a.Code, uc, err)
		}
		if err := ident.ValidateUSCC(a.Code); err != nil {
			t.Error(err)
		}
		for _, c := range a.Classes {
			cl, ok := cat.Lookup(c)
			if !ok {
				t.Fatalf("%s: unknown class %q", a.Name, c)
			}
			if prev, dup := covered[cl.Key]; dup {
				t.Errorf("class %s given to both %s and %s", cl.Key, prev, a.Name)
			}
			covered[cl.Key] = a.Name
		}
	}
	for _, cl := range cat.Classes() {
		if _, ok := covered[cl.Key]; !ok {
			t.Errorf("no default agency issues %s (%s)", cl.Key, cl.NameZH)
		}
	}
	if len(covered) != 17 {
		t.Errorf("%d classes covered, want 17", len(covered))
	}
}

func TestInitLoadRoundTrip(t *testing.T) {
	t0 := time.Now()
	dir, res := newPKI(t)
	if res.Dir != dir {
		t.Errorf("Result.Dir = %s, want %s", res.Dir, dir)
	}
	t.Run("files", func(t *testing.T) { testInitFiles(t, dir, res) })
	t.Run("manifest", func(t *testing.T) { testInitManifest(t, dir, res) })

	p, err := Load(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Agencies) != len(DefaultAgencies()) {
		t.Fatalf("%d agencies", len(p.Agencies))
	}
	t.Run("root", func(t *testing.T) { testLoadedRoot(t, dir, p, res, t0) })
	t.Run("agencies", func(t *testing.T) { testLoadedAgencies(t, p, res, t0) })
	t.Run("lookup", func(t *testing.T) { testAgencyLookup(t, p) })
	t.Run("ledger", func(t *testing.T) { testLoadedLedger(t, p, res) })
}

// testInitFiles checks the files Init wrote and reported, and their
// modes: directories 0700, keys 0600, nothing else in the tree.
func testInitFiles(t *testing.T, dir string, res *Result) {
	wantFiles := []string{RootCertFile, RootKeyFile, ManifestFile, LedgerCertFile, LedgerKeyFile, ReceiptCertFile, ReceiptKeyFile}
	for _, a := range DefaultAgencies() {
		wantFiles = append(wantFiles, "agencies/"+a.Code+".crt.pem", "agencies/"+a.Code+".key.pem")
	}
	if !sameSet(res.Files, wantFiles) {
		t.Errorf("Files = %v, want %v", res.Files, wantFiles)
	}
	var onDisk []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("%s: mode %v, want 0700", rel, fi.Mode().Perm())
			}
		case strings.HasSuffix(p, ".key.pem"):
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", rel, fi.Mode().Perm())
			}
			fallthrough
		default:
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sameSet(onDisk, wantFiles) {
		t.Errorf("on disk %v, want %v", onDisk, wantFiles)
	}
	if ents, _ := os.ReadDir(filepath.Dir(dir)); len(ents) != 1 {
		t.Errorf("parent holds %d entries, want only the PKI (temporary directory left over?)", len(ents))
	}
}

// testInitManifest checks that the manifest on disk is the one returned.
func testInitManifest(t *testing.T, dir string, res *Result) {
	var m Manifest
	b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Root.KeyID != res.Manifest.Root.KeyID || len(m.Agencies) != 9 || m.Agencies[0].TypeCodes[0] != "11310000PDY00001XQ001" {
		t.Errorf("manifest on disk: %+v", m)
	}
}

// testLoadedRoot checks the loaded root certificate and the root signer.
func testLoadedRoot(t *testing.T, dir string, p *PKI, res *Result, t0 time.Time) {
	if !p.Root.IsCA || p.Root.MaxPathLen != 0 || !p.Root.MaxPathLenZero {
		t.Error("root is not a CA with path length 0")
	}
	if d := p.Root.NotAfter.Sub(t0); d < DefaultRootValidity-time.Minute || d > DefaultRootValidity+time.Minute {
		t.Errorf("root lifetime %v", d)
	}
	rs, err := LoadRootSigner(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	if rs.KeyID != res.Manifest.Root.KeyID || !bytes.Equal(rs.CertDER, p.RootDER) {
		t.Error("root signer does not match")
	}
	if _, err := LoadRootSigner(dir, []byte("wrong")); !errors.Is(err, ErrPassphrase) {
		t.Errorf("LoadRootSigner(wrong) = %v", err)
	}
}

// testLoadedAgencies checks every loaded agency against its default
// configuration and the manifest, and that its key signs.
func testLoadedAgencies(t *testing.T, p *PKI, res *Result, t0 time.Time) {
	for i, a := range p.Agencies {
		cfg := DefaultAgencies()[i]
		e := res.Manifest.Agencies[i]
		if a.Code != cfg.Code || a.Name != cfg.Name || !slices.Equal(a.Classes, cfg.Classes) {
			t.Errorf("agency %d = %s %s %v, want %+v", i, a.Code, a.Name, a.Classes, cfg)
		}
		if a.KeyID != e.KeyID || a.KeyID != gm.KeyIDString(a.CertDER) || len(a.KeyID) != 16 {
			t.Errorf("%s: key ID %s, manifest %s", a.Code, a.KeyID, e.KeyID)
		}
		if a.Cert.KeyUsage != gm.KeyUsageDigitalSignature|gm.KeyUsageContentCommitment || a.Cert.IsCA {
			t.Errorf("%s: key usage %v, CA %v", a.Code, a.Cert.KeyUsage, a.Cert.IsCA)
		}
		if a.Cert.Subject.SerialNumber != a.Code {
			t.Errorf("%s: subject serialNumber %q", a.Code, a.Cert.Subject.SerialNumber)
		}
		if d := a.Cert.NotAfter.Sub(t0); d < DefaultValidity-time.Minute || d > DefaultValidity+time.Minute {
			t.Errorf("%s: lifetime %v", a.Code, d)
		}
		// The key signs, and the certificate's key verifies.
		msg := []byte("电子证照 " + a.Code)
		sig, err := gm.Sign(a.Signer, msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := gm.Verify(a.Cert.PublicKey.(*ecdsa.PublicKey), msg, sig); err != nil {
			t.Errorf("%s: %v", a.Code, err)
		}
		if got, ok := p.Agency(a.Code); !ok || got != a {
			t.Errorf("Agency(%s) = %v, %v", a.Code, got, ok)
		}
	}
}

// testAgencyLookup checks the lookups by class and by code.
func testAgencyLookup(t *testing.T, p *PKI) {
	for class, want := range map[string]string{
		"营业执照":                    "上海市市场监督管理局",
		"drivers-license":         "上海市公安局",
		"marriage-certificate":    "上海市民政局",
		"real-estate-certificate": "上海市规划和自然资源局",
	} {
		a, ok := p.AgencyForClass(class)
		if !ok || a.Name != want {
			t.Errorf("AgencyForClass(%s) = %v, %v; want %s", class, a, ok, want)
		}
		if got := p.AgenciesForClass(class); len(got) != 1 || got[0] != a {
			t.Errorf("AgenciesForClass(%s) = %v", class, got)
		}
	}
	if a, ok := p.AgencyForClass("no-such-class"); ok {
		t.Errorf("AgencyForClass(no-such-class) = %v", a)
	}
	if _, ok := p.Agency("nope"); ok {
		t.Error("Agency(nope) found")
	}
}

// testLoadedLedger checks the ledger signer.
func testLoadedLedger(t *testing.T, p *PKI, res *Result) {
	if p.Ledger == nil || p.Ledger.KeyID != res.Manifest.Ledger.KeyID || p.Ledger.Cert.KeyUsage != gm.KeyUsageDigitalSignature {
		t.Errorf("ledger = %+v", p.Ledger)
	}
	if _, err := gm.Sign(p.Ledger.Signer, []byte("checkpoint")); err != nil {
		t.Error(err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// snapshot records every file under dir with its mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		out[p] = v + " " + fi.ModTime().String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInitRefusesExisting(t *testing.T) {
	dir, _ := newPKI(t)
	before := snapshot(t, dir)
	_, err := Init(testOpts(dir))
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second Init = %v, want ErrExists", err)
	}
	if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "remove it first") {
		t.Errorf("message %q", err)
	}
	if after := snapshot(t, dir); !maps2Equal(before, after) {
		t.Error("the existing PKI changed")
	}
	if ents, _ := os.ReadDir(filepath.Dir(dir)); len(ents) != 1 {
		t.Errorf("parent holds %d entries after the refusal", len(ents))
	}
	// A partial PKI (only the manifest) is also refused.
	other := filepath.Join(t.TempDir(), "x")
	os.Mkdir(other, 0o700)
	os.WriteFile(filepath.Join(other, ManifestFile), []byte("{}"), 0o600)
	if _, err := Init(testOpts(other)); !errors.Is(err, ErrExists) {
		t.Errorf("Init over a manifest = %v", err)
	}
}

func maps2Equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestInitTargets(t *testing.T) {
	t.Run("empty existing directory", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Init(testOpts(dir)); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir, testPass); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("not empty", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
		before := snapshot(t, dir)
		_, err := Init(testOpts(dir))
		if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "notes.txt") {
			t.Fatalf("Init = %v, want ErrNotEmpty naming notes.txt", err)
		}
		if !maps2Equal(before, snapshot(t, dir)) {
			t.Error("directory changed")
		}
	})
	t.Run("a file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o644)
		if _, err := Init(testOpts(f)); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "is not a directory") {
			t.Fatalf("Init = %v", err)
		}
	})
	t.Run("nested new directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b", "pki")
		if _, err := Init(testOpts(dir)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("symlink to empty directory", func(t *testing.T) {
		base := t.TempDir()
		real := filepath.Join(base, "real")
		os.Mkdir(real, 0o700)
		link := filepath.Join(base, "link")
		if err := os.Symlink(real, link); err != nil {
			t.Skip(err)
		}
		if _, err := Init(testOpts(link)); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Error("the link was replaced")
		}
		if _, err := Load(link, testPass); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("passphrase file", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "pki")
		o := testOpts(dir)
		o.WritePassphraseFile = true
		res, err := Init(o)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(res.PassphraseFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("passphrase file: %v %v", fi, err)
		}
		pw, err := gm.PassphraseSource{File: res.PassphraseFile}.Read()
		if err != nil || !bytes.Equal(pw, testPass) {
			t.Fatalf("passphrase file holds %q, %v", pw, err)
		}
		if _, err := Load(dir, pw); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("validity and clock", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "pki")
		o := testOpts(dir)
		t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		o.Now = func() time.Time { return t0 }
		o.Validity = 100 * 24 * time.Hour
		o.RootValidity = 50 * 24 * time.Hour // shorter: leaves are capped to it
		res, err := Init(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir, testPass); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "not a valid self-signed root at") {
			t.Errorf("Load now, before NotBefore = %v", err)
		}
		p, err := LoadAt(dir, testPass, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !p.Root.NotBefore.Equal(t0.Add(-backdate)) || !p.Root.NotAfter.Equal(t0.Add(50*24*time.Hour)) {
			t.Errorf("root validity %v - %v", p.Root.NotBefore, p.Root.NotAfter)
		}
		if !p.Agencies[0].Cert.NotAfter.Equal(p.Root.NotAfter) || !p.Ledger.Cert.NotAfter.Equal(p.Root.NotAfter) {
			t.Error("leaves outlive the root")
		}
		if !res.Manifest.CreatedAt.Equal(t0) {
			t.Errorf("created_at %v", res.Manifest.CreatedAt)
		}
		if _, err := LoadAt(dir, testPass, t0.Add(51*24*time.Hour)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Load after expiry = %v", err)
		}
	})
}

func TestInitConfigErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	agencies := func(f func([]AgencyConfig) []AgencyConfig) []AgencyConfig { return f(DefaultAgencies()) }
	tests := []struct {
		name string
		mod  func(o *InitOptions)
		want string
	}{
		{"no dir", func(o *InitOptions) { o.Dir = "" }, "no directory given"},
		{"no passphrase", func(o *InitOptions) { o.Passphrase = nil }, "no passphrase given"},
		{"no agencies", func(o *InitOptions) { o.Agencies = nil }, "no agencies"},
		{"bad code", func(o *InitOptions) {
			o.Agencies = agencies(func(a []AgencyConfig) []AgencyConfig { a[2].Code = "11310000PDY1000378"; return a })
		}, `agencies[2] (上海市民政局): code: uscc "11310000PDY1000378": check character is '8', want '9'`},
		{"duplicate code", func(o *InitOptions) {
			o.Agencies = agencies(func(a []AgencyConfig) []AgencyConfig { a[3].Code = a[1].Code; return a })
		}, "agencies[1] and agencies[3] have the same code 11310000PDY100029E"},
		{"unknown class", func(o *InitOptions) {
			o.Agencies = agencies(func(a []AgencyConfig) []AgencyConfig {
				a[0].Classes = append(a[0].Classes, "营业执照副本")
				return a
			})
		}, `classes[3] "营业执照副本" is not a class key, type code or name in the catalogue`},
		{"no classes", func(o *InitOptions) {
			o.Agencies = agencies(func(a []AgencyConfig) []AgencyConfig { a[0].Classes = nil; return a })
		}, "no classes"},
		{"empty name", func(o *InitOptions) {
			o.Agencies = agencies(func(a []AgencyConfig) []AgencyConfig { a[0].Name = " "; return a })
		}, "agencies[0] (11310000PDY100010H): empty name"},
		{"negative validity", func(o *InitOptions) { o.Validity = -time.Hour }, "negative validity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOpts(dir)
			tt.mod(&o)
			_, err := Init(o)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Init = %v, want ErrConfig containing %q", err, tt.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatal("a failed Init left the directory behind")
			}
		})
	}
}

func TestParseAgencyConfigs(t *testing.T) {
	js, _ := json.Marshal(DefaultAgencies())
	got, err := ParseAgencyConfigs(js)
	if err != nil || len(got) != 9 || got[0].Name != "上海市市场监督管理局" {
		t.Fatalf("ParseAgencyConfigs = %v, %v", got, err)
	}
	for in, want := range map[string]string{
		`[{"code":"11310000PDY100010H","name":"x","class":["business-license"]}]`:      `unknown field "class"`,
		`[{"code":"11310000PDY100010H","name":"x","classes":["business-license"]}] []`: "data after the JSON array",
		`{"agencies":[]}`: "cannot unmarshal object",
		`[]`:              "no agencies",
		`[{"code":"11310000PDY100010H","name":"x","classes":["nope"]}]`: `"nope" is not a class key`,
	} {
		if _, err := ParseAgencyConfigs([]byte(in)); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAgencyConfigs(%s) = %v, want %q", in, err, want)
		}
	}
}

func TestLoadWrongPassphrase(t *testing.T) {
	dir, res := newPKI(t)
	_, err := Load(dir, []byte("not the passphrase"))
	var fe *FileError
	if !errors.Is(err, ErrPassphrase) || !errors.As(err, &fe) {
		t.Fatalf("Load = %v, want a FileError wrapping ErrPassphrase", err)
	}
	want := filepath.Join(dir, filepath.FromSlash(res.Manifest.Agencies[0].Key))
	if fe.Path != want || !strings.HasPrefix(err.Error(), "pki: "+want+": ") {
		t.Fatalf("error %q names %s, want %s", err, fe.Path, want)
	}
	if _, err := Load(dir, nil); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("Load(no passphrase) = %v", err)
	}
}

// copyDir copies a PKI directory tree.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestLoadTampered(t *testing.T) {
	base, res := newPKI(t)
	a0, a1 := res.Manifest.Agencies[0], res.Manifest.Agencies[1]
	read := func(dir, name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(dir, name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// flipSignature changes the last byte of a certificate's DER (inside
	// the signature) and re-encodes it.
	flipSignature := func(dir, name string) {
		certs, err := gm.ParseCertificatesPEM(read(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		der := bytes.Clone(certs[0].Raw)
		der[len(der)-1] ^= 0x01
		write(dir, name, gm.EncodeCertificatePEM(der))
	}
	editManifest := func(dir string, f func(m *Manifest)) {
		var m Manifest
		if err := json.Unmarshal(read(dir, ManifestFile), &m); err != nil {
			t.Fatal(err)
		}
		f(&m)
		b, _ := json.Marshal(m)
		write(dir, ManifestFile, b)
	}
	tests := []struct {
		name   string
		tamper func(dir string)
		file   string // the file the error must name
		is     error
		want   string
	}{
		{"agency signature flipped", func(d string) { flipSignature(d, a0.Cert) }, a0.Cert, ErrCorrupt, "does not chain to the root root.crt.pem at"},
		{"root signature flipped", func(d string) { flipSignature(d, RootCertFile) }, RootCertFile, ErrCorrupt, "root self-signature does not verify"},
		{"ledger signature flipped", func(d string) { flipSignature(d, LedgerCertFile) }, LedgerCertFile, ErrCorrupt, "does not chain to the root"},
		{"agency cert is garbage", func(d string) { write(d, a0.Cert, []byte("hello")) }, a0.Cert, ErrCorrupt, "malformed certificate: no PEM CERTIFICATE block"},
		{"base64 damaged", func(d string) {
			b := read(d, a0.Cert)
			i := bytes.IndexByte(b, '\n') + 40
			b[i] ^= 0x20 // still base64, different DER
			write(d, a0.Cert, b)
		}, a0.Cert, ErrCorrupt, ""},
		{"two certificates", func(d string) { write(d, a0.Cert, append(read(d, a0.Cert), read(d, a1.Cert)...)) }, a0.Cert, ErrCorrupt, "holds 2 certificates, want 1"},
		{"agency cert replaced by another agency's", func(d string) { write(d, a0.Cert, read(d, a1.Cert)) }, a0.Cert, ErrCorrupt,
			"key ID is " + a1.KeyID + " but pki.json records " + a0.KeyID},
		{"agency cert replaced by the ledger's", func(d string) { write(d, a0.Cert, read(d, LedgerCertFile)) }, a0.Cert, ErrCorrupt,
			`has role ledger, want agency`},
		{"root replaced by an agency cert", func(d string) { write(d, RootCertFile, read(d, a0.Cert)) }, RootCertFile, ErrCorrupt, "has role agency, want root"},
		{"agency key swapped", func(d string) { write(d, a0.Key, read(d, a1.Key)) }, a0.Key, ErrCorrupt, "key does not match certificate " + a0.Cert},
		{"agency key garbage", func(d string) { write(d, a0.Key, []byte("-----BEGIN NOTHING-----\n-----END NOTHING-----\n")) }, a0.Key, ErrCorrupt, "malformed key"},
		{"agency key missing", func(d string) { os.Remove(filepath.Join(d, a0.Key)) }, a0.Key, fs.ErrNotExist, "no such file"},
		{"manifest missing", func(d string) { os.Remove(filepath.Join(d, ManifestFile)) }, ManifestFile, fs.ErrNotExist, ""},
		{"manifest not JSON", func(d string) { write(d, ManifestFile, []byte("{")) }, ManifestFile, ErrCorrupt, "not a PKI manifest"},
		{"manifest version", func(d string) { editManifest(d, func(m *Manifest) { m.Version = 2 }) }, ManifestFile, ErrCorrupt, "version 2, want 1"},
		{"manifest key ID edited", func(d string) { editManifest(d, func(m *Manifest) { m.Agencies[0].KeyID = "0011223344556677" }) }, a0.Cert, ErrCorrupt,
			"key ID is " + a0.KeyID + " but pki.json records 0011223344556677"},
		{"manifest name edited", func(d string) { editManifest(d, func(m *Manifest) { m.Agencies[0].Name = "上海市某局" }) }, a0.Cert, ErrCorrupt,
			`certificate names "上海市市场监督管理局", pki.json says "上海市某局"`},
		{"manifest classes edited", func(d string) {
			editManifest(d, func(m *Manifest) { m.Agencies[0].Classes = append(m.Agencies[0].Classes, "marriage-certificate") })
		}, a0.Cert, ErrCorrupt, "certificate allows classes"},
		{"manifest type codes edited", func(d string) {
			editManifest(d, func(m *Manifest) { m.Agencies[0].TypeCodes = m.Agencies[1].TypeCodes })
		}, a0.Cert, ErrCorrupt,
			"certificate allows type codes"},
		{"manifest points outside", func(d string) { editManifest(d, func(m *Manifest) { m.Agencies[0].Cert = "../../etc/passwd" }) }, ManifestFile, ErrCorrupt,
			`agency 11310000PDY100010H files are "../../etc/passwd"`},
		{"manifest agency code changed", func(d string) {
			editManifest(d, func(m *Manifest) {
				m.Agencies[0].Code = a1.Code
				m.Agencies[0].Cert, m.Agencies[0].Key = a1.Cert, a1.Key
			})
		}, ManifestFile, ErrCorrupt, "agency " + a1.Code + " is listed twice"},
		{"manifest agency removed and duplicated file", func(d string) {
			editManifest(d, func(m *Manifest) { m.Agencies = m.Agencies[:0] })
		}, ManifestFile, ErrCorrupt, "no agencies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, base)
			tt.tamper(dir)
			_, err := Load(dir, testPass)
			var fe *FileError
			if !errors.Is(err, tt.is) || !errors.As(err, &fe) {
				t.Fatalf("Load = %v, want a FileError wrapping %v", err, tt.is)
			}
			if want := filepath.Join(dir, filepath.FromSlash(tt.file)); fe.Path != want {
				t.Errorf("error names %s, want %s (%v)", fe.Path, want, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	// The untouched original still loads.
	if _, err := Load(base, testPass); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSSL(t *testing.T) {
	testneed.OpenSSL3(t)
	dir, res := newPKI(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	text := run("x509", "-in", RootCertFile, "-noout", "-text")
	for _, want := range []string{"Signature Algorithm: SM2-with-SM3", "CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign", "ASN1 OID: SM2"} {
		if !strings.Contains(text, want) {
			t.Errorf("root -text lacks %q:\n%s", want, text)
		}
	}
	a := res.Manifest.Agencies[0]
	text = run("x509", "-in", a.Cert, "-noout", "-text", "-nameopt", "utf8")
	for _, want := range []string{"Digital Signature, Non Repudiation", "CA:FALSE", "O=上海市市场监督管理局", "serialNumber=" + a.Code} {
		if !strings.Contains(text, want) {
			t.Errorf("agency -text lacks %q:\n%s", want, text)
		}
	}
	for _, f := range []string{a.Cert, res.Manifest.Agencies[8].Cert, LedgerCertFile} {
		out := run("verify", "-vfyopt", "distid:1234567812345678", "-CAfile", RootCertFile, f)
		if strings.TrimSpace(out) != f+": OK" {
			t.Errorf("openssl verify %s: %s", f, out)
		}
	}
	// The role and policy attributes decode with OpenSSL's generic parser.
	derFile := filepath.Join(t.TempDir(), "a.der")
	run("x509", "-in", a.Cert, "-outform", "DER", "-out", derFile)
	asn := run("asn1parse", "-inform", "DER", "-in", derFile, "-strparse", sdaOffset(t, run("asn1parse", "-inform", "DER", "-in", derFile)))
	for _, want := range []string{":2.25.224523559421458694417872874496817008374", ":2.25.7627945231086746449576750595306452993",
		"UTF8STRING        :" + a.Code, "PRINTABLESTRING   :11310000PDY00001XQ001"} {
		if !strings.Contains(asn, want) {
			t.Errorf("asn1parse of the attributes lacks %q:\n%s", want, asn)
		}
	}
}

// sdaOffset finds the offset of the OCTET STRING following the Subject
// Directory Attributes OID in asn1parse output.
func sdaOffset(t *testing.T, asn string) string {
	lines := strings.Split(asn, "\n")
	for i, l := range lines {
		if strings.Contains(l, "X509v3 Subject Directory Attributes") && i+1 < len(lines) {
			off, _, _ := strings.Cut(strings.TrimSpace(lines[i+1]), ":")
			return off
		}
	}
	t.Fatalf("no Subject Directory Attributes in\n%s", asn)
	return ""
}

// TestInitConcurrent: two Inits racing for one directory: exactly one
// wins, the other gets ErrExists, and what is left is one complete PKI.
func TestInitConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := Init(testOpts(dir))
			errs <- err
		}()
	}
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) {
		t.Fatalf("results %v and %v; want one success and one ErrExists", e1, e2)
	}
	if err := errors.Join(e1, e2); !errors.Is(err, ErrExists) {
		t.Fatalf("loser got %v, want ErrExists", err)
	}
	if _, err := Load(dir, testPass); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(dir)); len(ents) != 1 {
		t.Errorf("parent holds %d entries, want only the PKI", len(ents))
	}
}

package archive

import (
	"archive/zip"
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"elicense/certs/agencycert"
	format "elicense/certs/archive"
	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/jws"
	"elicense/certs/ledgerevent"
	certsofd "elicense/certs/ofd"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
	"elicense/verifier/ofd"
)

// Options say what Verify trusts.
type Options struct {
	// Roots, when set, are the pinned roots: the package's root must be
	// one of them (byte for byte).
	Roots []*gm.Certificate
	// Ledger, when set, are the pinned ledger keys' certificates (a
	// synced trust bundle's): the package's trust/ledger.cer must be one.
	Ledger []*gm.Certificate
	// Bundle, when set, is the verifier's synced trust bundle: the
	// package's trust/keys.json is the exporter's own word, so each of its
	// agency keys must be one the bundle lists for the agency, with the
	// same certificate, and the bundle's key states (a key compromised or
	// retired since) are the ones the checks use.
	Bundle *trust.Bundle
	// Catalog is the class catalogue for a package that carries none
	// (nil means catalog.Default()); a package's own catalogue.json, the
	// one its files were made with, is used when it has one.
	Catalog *catalog.Catalog
}

// CatalogueSource says which class catalogue a package was checked with.
type CatalogueSource string

// The catalogue sources.
const (
	// CataloguePackage: the package's own catalogue.json.
	CataloguePackage CatalogueSource = "package"
	// CatalogueVerifier: the verifier's (Options.Catalog or the built-in
	// one), for a package that carries no usable catalogue: an item the
	// catalogue derives (a class's number field added since the export,
	// say) may then differ from the package's files only because the
	// catalogue changed.
	CatalogueVerifier CatalogueSource = "verifier"
)

// phrase names the catalogue in a message.
func (s CatalogueSource) phrase() string {
	if s == CataloguePackage {
		return "the package's catalogue"
	}
	return "this verifier's catalogue, the package carrying none"
}

// Code says what kind of check a Problem failed, for callers to test.
type Code string

// The problem codes.
const (
	// Missing: a file the package must hold is absent or unreadable.
	Missing Code = "MISSING"
	// Fixity: a file's size or SM3 is not the manifest's, or a file is
	// not listed in it.
	Fixity Code = "FIXITY"
	// Malformed: a file does not parse as its format.
	Malformed Code = "MALFORMED"
	// Untrusted: a certificate does not chain to the root, has the wrong
	// role, key ID, agency or classes, or the root or ledger key is not
	// the pinned one; the manifest's signer is not a usable agency key.
	Untrusted Code = "UNTRUSTED"
	// BadSignature: the manifest's or the checkpoint's signature does not
	// verify.
	BadSignature Code = "BAD_SIGNATURE"
	// OFD: a version's OFD file is not VALID or not the version's.
	OFD Code = "OFD"
	// Credential: a version's credential does not verify or is not its.
	Credential Code = "CREDENTIAL"
	// Event: an event is not about the version, its inclusion proof does
	// not hold, or no event records the credential.
	Event Code = "EVENT"
	// Status: the metadata's status is not the one the events prove.
	Status Code = "STATUS"
	// Mismatch: a version's OFD file or metadata says what its
	// credential does not (an item, the page's holder), or the file was
	// sealed with another key or as of a time outside the version's life
	// in the period.
	Mismatch Code = "MISMATCH"
)

// Problem is one failed check: its code and what it found, naming the
// file.
type Problem struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Message }

// Licence is the outcome for one licence version.
type Licence struct {
	ID       string      `json:"id"`
	OK       bool        `json:"ok"`
	OFD      ofd.Verdict `json:"ofd,omitempty"`
	Events   int         `json:"events"`
	Status   string      `json:"status,omitempty"`
	Problems []Problem   `json:"problems,omitempty"`
}

// Verdict is the outcome for the package.
type Verdict string

// The verdicts.
const (
	// Valid: every check holds and the package's root is a pinned root.
	Valid Verdict = "VALID"
	// Unpinned: every check holds, but against the package's own root,
	// which no pinned root vouches for: compare its fingerprint (Report.Root)
	// out of band before relying on the package.
	Unpinned Verdict = "UNPINNED"
	// Invalid: some check does not hold (Report.Problems, Licence.Problems).
	Invalid Verdict = "INVALID"
)

// Report is the outcome for the package.
type Report struct {
	Verdict Verdict `json:"verdict"`
	// OK: every check holds (the root pinned or not).
	OK     bool      `json:"ok"`
	Agency string    `json:"agency,omitempty"`
	From   time.Time `json:"from,omitzero"`
	To     time.Time `json:"to,omitzero"`
	Count  int       `json:"count"`
	Root   string    `json:"root_sm3,omitempty"` // SM3 fingerprint of the root certificate
	Pinned bool      `json:"pinned"`             // the root is one of Options.Roots
	// Catalogue: the class catalogue the checks used.
	Catalogue CatalogueSource `json:"catalogue,omitempty"`
	// KeysCrossChecked: every agency key was checked against a synced
	// trust bundle (Options.Bundle); otherwise only against the package
	// (the Notes say which keys, when a bundle was given).
	KeysCrossChecked bool   `json:"keys_cross_checked"`
	Checkpoint       uint64 `json:"checkpoint_size,omitempty"`
	// Notes say what was not checked, and why, where that is no problem:
	// a key a synced trust bundle older than the package cannot know.
	Notes    []string  `json:"notes,omitempty"`
	Problems []Problem `json:"problems,omitempty"` // package-level
	Licences []Licence `json:"licences"`
}

// ErrUnreadable means the package could not be checked at all (not a
// zip, no manifest): exit 2, not a verdict.
var ErrUnreadable = errors.New("archive: cannot read the package")

type pkg struct {
	files  map[string]*zip.File
	rep    *Report
	agency string    // the manifest's
	to     time.Time // the period's end, the manifest's
	listed map[string]format.File
	kept   map[string][]byte // files other than licences' whose fixity holds
	said   map[Problem]bool  // the package-level problems reported

	// What every version's checks share, set before they start.
	cat     *catalog.Catalog
	keys    credential.KeySet
	ofdOpts ofd.Options
	cp      tlog.Checkpoint
	cpOK    bool
}

// problem records a package-level problem, once: a file that several
// checks read is reported missing or unreadable by the first.
func (p *pkg) problem(code Code, format string, args ...any) {
	pr := Problem{code, fmt.Sprintf(format, args...)}
	if p.said == nil {
		p.said = map[Problem]bool{}
	}
	if !p.said[pr] {
		p.said[pr] = true
		p.rep.Problems = append(p.rep.Problems, pr)
	}
}

// read reads the package file name, up to its kind's size limit
// (format.MaxSize), into a buffer that grows as bytes arrive: the size an
// entry declares is the packager's word, so it bounds the read but is
// never allocated ahead of the bytes.
func (p *pkg) read(name string) ([]byte, error) {
	if b, ok := p.kept[name]; ok {
		return b, nil
	}
	rc, size, err := p.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// The zip reader fails an entry that inflates past its declared
	// size, which open checked against the limit, or whose CRC-32 does
	// not hold at its end; room for one byte more than declared catches a
	// reader that does neither.
	b, err := readGrowing(rc, size+1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if n := int64(len(b)); n != size {
		return nil, fmt.Errorf("%s: %d bytes, its zip entry says %d", name, n, size)
	}
	return b, nil
}

// readGrowing reads r to its end, or to limit bytes, doubling its buffer
// only when the bytes already read fill it, up to limit: a file of the
// size its entry declares ends in a buffer of that size.
func readGrowing(r io.Reader, limit int64) ([]byte, error) {
	b := make([]byte, 0, min(limit, readChunk))
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(limit, 2*int64(cap(b))))-len(b))
		}
		n, err := r.Read(b[len(b):min(int64(cap(b)), limit)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// readChunk is the most read allocates before the bytes arrive.
const readChunk = 64 << 10

// open opens the package file name, refusing one larger than its kind's
// limit.
func (p *pkg) open(name string) (io.ReadCloser, int64, error) {
	f, ok := p.files[name]
	if !ok {
		return nil, 0, fmt.Errorf("%s is missing", name)
	}
	limit := format.MaxSize(name)
	if f.UncompressedSize64 > uint64(limit) {
		return nil, 0, fmt.Errorf("%s: %d bytes, at most %d", name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	return rc, int64(f.UncompressedSize64), nil
}

// Verify checks the package in r. The error is ErrUnreadable (wrapped)
// when it cannot be checked; otherwise the report says what holds.
func Verify(r io.ReaderAt, size int64, o Options) (*Report, error) {
	p, mb, m, err := open(r, size)
	if err != nil {
		return nil, err
	}
	rep := p.rep
	rep.Agency, rep.From, rep.To, rep.Count = m.Agency, m.From, m.To, m.Count
	p.agency, p.to = m.Agency, m.To

	p.checkFixity(m)
	cat := p.catalogue(o.Catalog)
	p.cat = cat

	// Trust: the root, certificates chaining to it, the manifest signature.
	root := p.cert(format.RootPath)
	if root == nil {
		return finish(rep), nil
	}
	p.checkRoot(root, o.Roots)
	ledgerCert := p.chained(format.LedgerCertPath, root, agencycert.RoleLedger)
	if ledgerCert != nil && len(o.Ledger) > 0 && !slices.ContainsFunc(o.Ledger, func(c *gm.Certificate) bool {
		return subtle.ConstantTimeCompare(c.Raw, ledgerCert.Raw) == 1
	}) {
		p.problem(Untrusted, "%s: not the pinned ledger key", format.LedgerCertPath)
		ledgerCert = nil
	}
	kb, err := p.read(format.KeysPath)
	if err != nil {
		p.problem(Missing, "%v", err)
		return finish(rep), nil
	}
	keys, err := format.ParseKeys(kb)
	if err != nil {
		p.problem(Malformed, "%v", err)
		return finish(rep), nil
	}
	rep.KeysCrossChecked = o.Bundle != nil
	keySet, agencyCerts, signer := p.agencyKeys(keys, m, root, cat, o.Bundle)
	p.checkSignature(mb, m, signer)

	cp, cpOK := p.checkpoint(m, ledgerCert)

	ids := licenceIDs(m)
	if len(ids) != m.Count {
		p.problem(Malformed, "the manifest counts %d licences, lists %d", m.Count, len(ids))
	}
	// An OFD file is the agency's only if its licence-face seal is: made
	// by one of the agency's own certificates (docs/formats.md §5), not by
	// any key the root certified.
	p.ofdOpts = ofd.Options{Trusted: agencyCerts, AtSigningTime: true}
	p.keys, p.cp, p.cpOK = keySet, cp, cpOK
	rep.Licences = p.licences(ids)
	return finish(rep), nil
}

// open indexes the package's entries and reads its manifest (mb, its
// bytes, and m, parsed).
func open(r io.ReaderAt, size int64) (p *pkg, mb []byte, m *format.Manifest, err error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	if len(zr.File) > format.MaxFiles+2 {
		return nil, nil, nil, fmt.Errorf("%w: %d entries, at most %d", ErrUnreadable, len(zr.File), format.MaxFiles+2)
	}
	p = &pkg{files: make(map[string]*zip.File, len(zr.File)), rep: &Report{Licences: []Licence{}}}
	if err := p.index(zr.File, size); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	mb, err = p.read(format.ManifestPath)
	if err != nil {
		for _, pr := range p.rep.Problems { // why it could not be read
			err = fmt.Errorf("%w; %s", err, pr.Message)
		}
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	m, err = format.ParseManifest(mb)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return p, mb, m, nil
}

// maxRatio bounds how much an entry may inflate: the package is written
// stored, and a re-zipped one deflates its JSON a few times over, far
// from what a zip bomb needs.
const maxRatio = 64

// index indexes the package's entries by name. A directory entry (a
// package unzipped and zipped again) holds nothing and is passed over; a
// name that climbs out of the package, a second entry of a name, an
// entry whose data would run past the end of the package and one that
// would inflate like a zip bomb are tampering, reported and not read.
// Entries that would together inflate like a zip bomb, each within
// bounds, leave nothing to check: the error says so, and nothing is read.
func (p *pkg) index(entries []*zip.File, size int64) error {
	var total uint64
	for _, f := range entries {
		isDir := strings.HasSuffix(f.Name, "/") || f.Mode().IsDir()
		if isDir && f.UncompressedSize64 == 0 && format.CheckPath(strings.TrimSuffix(f.Name, "/")) == nil {
			continue
		}
		switch {
		case format.CheckPath(f.Name) != nil:
			p.problem(Fixity, "zip entry %q: not a clean relative path in the package (tampering)", f.Name)
		case p.files[f.Name] != nil:
			// The first copy is checked; the verdict is INVALID either way.
			p.problem(Fixity, "zip entry %s: twice in the package (tampering)", f.Name)
		case f.Method != zip.Store && f.UncompressedSize64 > maxRatio*f.CompressedSize64+format.MaxCertSize:
			p.problem(Fixity, "zip entry %s: %d bytes compressed to %d (a zip bomb)", f.Name, f.UncompressedSize64, f.CompressedSize64)
		default:
			if err := pastEnd(f, size); err != nil {
				p.problem(Fixity, "zip entry %s: %v (tampering)", f.Name, err)
				continue
			}
			p.files[f.Name] = f
			total += f.UncompressedSize64
		}
	}
	if limit := maxRatio*uint64(size) + format.MaxCertSize; total > limit {
		return fmt.Errorf("the entries hold %d bytes, more than %d for a package of %d (a zip bomb)", total, limit, size)
	}
	return nil
}

// pastEnd refuses an entry whose compressed data, as its headers declare
// it, does not lie within the package's size bytes.
func pastEnd(f *zip.File, size int64) error {
	off, err := f.DataOffset()
	switch {
	case err != nil:
		return err
	case off < 0 || off > size || f.CompressedSize64 > uint64(size-off):
		return fmt.Errorf("%d bytes of data declared at offset %d, past the end of the package (%d bytes)", f.CompressedSize64, off, size)
	}
	return nil
}

// checkFixity checks every listed file's SM3 and size, and that nothing
// is unlisted. A licence version's own files are checked when they are
// read for its checks (licenceCheck.get), so each is read once and the
// bytes checked are the bytes hashed; the package's other files, which
// are small, are kept for their checks.
func (p *pkg) checkFixity(m *format.Manifest) {
	p.listed = make(map[string]format.File, len(m.Files))
	p.kept = map[string][]byte{}
	for _, f := range m.Files {
		p.listed[f.Path] = f
		if _, file, ok := format.LicenceOf(f.Path); ok && slices.Contains(licenceFiles, file) {
			continue
		}
		if f.Path == format.ReadmePath {
			p.checkStreamed(f) // not needed after: hashed as it is read
			continue
		}
		b, err := p.read(f.Path)
		if err != nil {
			p.problem(Missing, "%v", err)
			continue
		}
		if !fixed(f, b) {
			p.problem(Fixity, "%s: SM3 or size differs from the manifest (file modified)", f.Path)
			continue
		}
		p.kept[f.Path] = b
	}
	for _, name := range slices.Sorted(maps.Keys(p.files)) {
		if _, ok := p.listed[name]; !ok && name != format.ManifestPath && name != format.SignaturePath {
			p.problem(Fixity, "%s: not in the manifest", name)
		}
	}
}

// catalogue is the class catalogue the checks use: the package's own
// catalogue.json, the one its files were made with, or, for a package
// without a usable one, fallback (nil: catalog.Default()). The report
// says which.
func (p *pkg) catalogue(fallback *catalog.Catalog) *catalog.Catalog {
	if fallback == nil {
		fallback = catalog.Default()
	}
	p.rep.Catalogue = CatalogueVerifier
	if _, listed := p.listed[format.CataloguePath]; !listed {
		return fallback
	}
	b, ok := p.kept[format.CataloguePath]
	if !ok { // missing or modified, which checkFixity reported
		return fallback
	}
	c, err := format.ParseCatalogue(b)
	if err != nil {
		p.problem(Malformed, "%v", err)
		return fallback
	}
	p.rep.Catalogue = CataloguePackage
	return c
}

// checkStreamed checks the fixity of a file no check reads, hashing it
// as it streams.
func (p *pkg) checkStreamed(f format.File) {
	rc, _, err := p.open(f.Path)
	if err != nil {
		p.problem(Missing, "%v", err)
		return
	}
	defer rc.Close()
	h := gm.NewSM3()
	n, err := io.Copy(h, rc)
	if err != nil {
		p.problem(Missing, "%s: %v", f.Path, err)
		return
	}
	if n != f.Size || subtle.ConstantTimeCompare(h.Sum(nil), f.SM3[:]) != 1 {
		p.problem(Fixity, "%s: SM3 or size differs from the manifest (file modified)", f.Path)
	}
}

// licenceFiles are a version's files, which licenceCheck reads.
var licenceFiles = []string{format.MetadataFile, format.OFDFile, format.CredentialFile, format.EventsFile}

// fixed reports whether b is the file the manifest lists as f.
func fixed(f format.File, b []byte) bool {
	d := gm.SM3(b)
	return int64(len(b)) == f.Size && subtle.ConstantTimeCompare(d[:], f.SM3[:]) == 1
}

// cert reads and parses the certificate name, or reports why it cannot.
func (p *pkg) cert(name string) *gm.Certificate {
	b, err := p.read(name)
	if err != nil {
		p.problem(Missing, "%v", err)
		return nil
	}
	c, err := gm.ParseCertificate(b)
	if err != nil {
		p.problem(Malformed, "%s: %v", name, err)
		return nil
	}
	return c
}

// chained is cert, and only if it chains to root (at a time within its
// own validity, as certs/trust checks bundle keys: an archive is checked
// long after its certificates expire; when each was used is checked
// where it is used) and has the elicense role want.
func (p *pkg) chained(name string, root *gm.Certificate, want agencycert.Role) *gm.Certificate {
	c := p.cert(name)
	if c == nil {
		return nil
	}
	at := c.NotAfter
	if root.NotAfter.Before(at) {
		at = root.NotAfter
	}
	if err := gm.VerifyChain(c, []*gm.Certificate{root}, nil, at); err != nil {
		p.problem(Untrusted, "%s: does not chain to the package's root: %v", name, err)
		return nil
	}
	if err := agencycert.RequireRole(c, want); err != nil {
		p.problem(Untrusted, "%s: %v", name, err)
		return nil
	}
	return c
}

// checkRoot records the root's fingerprint and whether it is pinned.
func (p *pkg) checkRoot(root *gm.Certificate, pins []*gm.Certificate) {
	rep := p.rep
	fp := gm.SM3(root.Raw)
	rep.Root = hex.EncodeToString(fp[:])
	for _, pin := range pins {
		if subtle.ConstantTimeCompare(pin.Raw, root.Raw) == 1 {
			rep.Pinned = true
		}
	}
	if len(pins) > 0 && !rep.Pinned {
		p.problem(Untrusted, "the package's root %s is not a pinned root", rep.Root)
	}
	if err := agencycert.RequireRole(root, agencycert.RoleRoot); err != nil {
		p.problem(Untrusted, "%s: %v", format.RootPath, err)
	}
}

// agencyKeys is the key set of the package's agency certificates that
// chain to root and are the manifest's agency's, those certificates, and
// the certificate of the manifest's signer (nil if none).
func (p *pkg) agencyKeys(keys *format.Keys, m *format.Manifest, root *gm.Certificate, cat *catalog.Catalog, bundle *trust.Bundle) (keySet credential.KeySet, certs []*gm.Certificate, signer *gm.Certificate) {
	keySet = credential.KeySet{}
	dated := packageDate(m, keys)
	for _, k := range keys.Keys {
		name := format.AgencyCertPath(k.KeyID)
		c := p.chained(name, root, agencycert.RoleAgency)
		if c == nil {
			continue
		}
		if bundle != nil && !p.crossCheck(&k, c, bundle, m.Agency, dated) {
			continue
		}
		if kid := gm.KeyIDString(c.Raw); kid != k.KeyID {
			p.problem(Untrusted, "%s: the certificate's key ID is %s", name, kid)
			continue
		}
		pol, err := agencycert.FromCertificate(c)
		if err != nil {
			p.problem(Untrusted, "%s: %v", name, err)
			continue
		}
		if pol.AgencyCode != m.Agency {
			p.problem(Untrusted, "%s: a key of agency %s, not of %s", name, pol.AgencyCode, m.Agency)
			continue
		}
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		if !ok {
			p.problem(Untrusted, "%s: not an SM2 key", name)
			continue
		}
		ik := credential.IssuerKey{Public: pub, AgencyCode: pol.AgencyCode, NotBefore: c.NotBefore, NotAfter: c.NotAfter, Classes: classes(cat, pol)}
		switch k.State {
		case format.KeyRetired:
			ik.RetiredSince = k.Since
		case format.KeyCompromised:
			ik.CompromisedSince = k.Since
		}
		keySet[k.KeyID] = append(keySet[k.KeyID], ik)
		certs = append(certs, c)
		if k.KeyID == m.Signer {
			if k.State == format.KeyCompromised {
				p.problem(Untrusted, "the manifest's signer %s is a compromised key", m.Signer)
				continue
			}
			signer = c
		}
	}
	if keys.Agency != m.Agency {
		p.problem(Malformed, "%s names agency %s, the manifest %s", format.KeysPath, keys.Agency, m.Agency)
	}
	return keySet, certs, signer
}

// packageDate is the latest time the package shows it was made at or
// after: its period's end (a period is exported once it has ended) and
// the times keys.json says keys were rotated out.
func packageDate(m *format.Manifest, keys *format.Keys) time.Time {
	t := m.To
	for _, k := range keys.Keys {
		if k.Since.After(t) {
			t = k.Since
		}
	}
	return t
}

// crossCheck checks the package's key k (certificate c) of agency against
// the synced trust bundle, and takes the bundle's state for it: false when
// the bundle does not list it with that certificate although it could
// have. A bundle issued before the package was made (dated) or before the
// key's certificate starts cannot know the key: the key is then not
// cross-checked, which the report notes, rather than distrusted; a key the
// bundle does list is cross-checked however old the bundle is.
func (p *pkg) crossCheck(k *format.Key, c *gm.Certificate, bundle *trust.Bundle, agency string, dated time.Time) bool {
	name := format.AgencyCertPath(k.KeyID)
	known, agencyKnown := bundle.Agency(agency)
	i := -1
	if agencyKnown {
		i = slices.IndexFunc(known.Keys, func(bk trust.AgencyKey) bool { return bk.KID == k.KeyID })
	}
	if i < 0 {
		issued := bundle.IssuedAt.UTC().Format(time.RFC3339)
		if made := latest(dated, c.NotBefore); bundle.IssuedAt.Before(made) {
			p.rep.KeysCrossChecked = false
			p.rep.Notes = append(p.rep.Notes, fmt.Sprintf("%s: not cross-checked: the synced trust bundle (issued %s, seq %d) predates this package (made %s or later); sync and verify again",
				name, issued, bundle.Seq, made.UTC().Format(time.RFC3339)))
			return true
		}
		if !agencyKnown {
			p.problem(Untrusted, "agency %s is not in the synced trust bundle (issued %s, seq %d)", agency, issued, bundle.Seq)
		} else {
			p.problem(Untrusted, "%s: not a key of agency %s in the synced trust bundle (issued %s, seq %d), which is not older than the package", name, agency, issued, bundle.Seq)
		}
		return false
	}
	bk := known.Keys[i]
	if subtle.ConstantTimeCompare(bk.Cert, c.Raw) != 1 {
		p.problem(Untrusted, "%s: not the certificate the synced trust bundle has for key %s", name, k.KeyID)
		return false
	}
	if bk.State == trust.KeyCompromised && (k.State != format.KeyCompromised || k.Since.After(bk.Since)) {
		p.problem(Untrusted, "%s: %s says %s, the synced trust bundle says compromised since %s", name, format.KeysPath, k.State, bk.Since.Format(time.RFC3339))
	}
	// The bundle is signed by the issuer: a retirement or compromise it
	// records is the state that holds, whatever the package says; a key it
	// still calls active (a bundle older than a rotation) keeps the
	// package's state.
	if bk.State != trust.KeyActive {
		k.State, k.Since = string(bk.State), bk.Since
	}
	return true
}

// latest is the later of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// checkSignature checks the manifest's signature (over mb) by signer.
func (p *pkg) checkSignature(mb []byte, m *format.Manifest, signer *gm.Certificate) {
	sig, err := p.read(format.SignaturePath)
	switch {
	case err != nil:
		p.problem(Missing, "%v", err)
	case signer == nil:
		p.problem(Untrusted, "the manifest's signer %s is not an agency key of the package", m.Signer)
	default:
		if err := gm.Verify(signer.PublicKey.(*ecdsa.PublicKey), mb, sig); err != nil {
			p.problem(BadSignature, "manifest.sig: the manifest's signature does not verify: %v", err)
		}
	}
}

// checkpoint is the package's checkpoint, ok only if the ledger key
// signed it.
func (p *pkg) checkpoint(m *format.Manifest, ledgerCert *gm.Certificate) (cp tlog.Checkpoint, ok bool) {
	note, err := p.read(format.CheckpointPath)
	if err != nil {
		p.problem(Missing, "%v", err)
		return cp, false
	}
	if ledgerCert == nil {
		return cp, false
	}
	v, err := tlog.NewNoteVerifier(m.Origin, ledgerCert.PublicKey.(*ecdsa.PublicKey))
	if err == nil {
		cp, err = tlog.VerifyCheckpoint(note, m.Origin, v)
	}
	if err != nil {
		p.problem(BadSignature, "%s: not signed by the ledger key for %s: %v", format.CheckpointPath, m.Origin, err)
		return cp, false
	}
	p.rep.Checkpoint = cp.Size
	return cp, true
}

// licenceIDs are the licence versions the manifest lists files of, in
// manifest order.
func licenceIDs(m *format.Manifest) []string {
	var ids []string
	seen := map[string]bool{}
	for _, f := range m.Files {
		if id, _, ok := format.LicenceOf(f.Path); ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// licences checks each version in ids. Versions are independent: checked
// on every core, reported in order.
func (p *pkg) licences(ids []string) []Licence {
	out := make([]Licence, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = p.licence(ids[i])
			}
		}()
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func finish(rep *Report) *Report {
	rep.OK = len(rep.Problems) == 0
	for _, l := range rep.Licences {
		rep.OK = rep.OK && l.OK
	}
	switch {
	case !rep.OK:
		rep.Verdict = Invalid
	case !rep.Pinned:
		rep.Verdict = Unpinned
	default:
		rep.Verdict = Valid
	}
	return rep
}

// classes are the catalogue's classes pol allows.
func classes(cat *catalog.Catalog, pol agencycert.Policy) []string {
	var out []string
	for _, cl := range cat.Classes() {
		if pol.AllowsClass(cl) {
			out = append(out, cl.Key)
		}
	}
	return out
}

// licenceCheck collects one licence version's problems.
type licenceCheck struct {
	p   *pkg
	dir string
	l   Licence
}

func (c *licenceCheck) bad(code Code, format string, args ...any) {
	c.l.Problems = append(c.l.Problems, Problem{code, fmt.Sprintf(format, args...)})
}

// get reads the version's file name, nil (and a problem) if it cannot.
func (c *licenceCheck) get(name string) []byte {
	path := c.dir + name
	b, err := c.p.read(path)
	if err != nil {
		c.bad(Missing, "%v", err)
		return nil
	}
	if f, ok := c.p.listed[path]; !ok {
		c.bad(Fixity, "%s: not in the manifest", path)
	} else if !fixed(f, b) {
		c.bad(Fixity, "%s: SM3 or size differs from the manifest (file modified)", path)
	}
	return b
}

func (p *pkg) licence(id string) Licence {
	c := &licenceCheck{p: p, dir: format.LicenceDir(id), l: Licence{ID: id}}
	mdb, ofdb, cred, evb := c.get(format.MetadataFile), c.get(format.OFDFile), c.get(format.CredentialFile), c.get(format.EventsFile)
	md := c.metadata(mdb)
	credSM3 := gm.SM3(cred)
	lic, credKeys := c.checkCredential(cred, credSM3, md)
	if file, sigAt := c.checkOFD(ofdb, md); file != nil && lic != nil && md != nil {
		c.bind(file, sigAt, md, lic, credKeys)
	}
	if evb != nil {
		c.checkEvents(evb, cred != nil, credSM3, p.cp, p.cpOK)
	}
	if md != nil && c.l.Status != md.Status {
		c.bad(Status, "%s: status %q, the events say %q", format.MetadataFile, md.Status, c.l.Status)
	}
	return done(c.l)
}

// metadata parses the version's metadata (nil when absent or bad).
func (c *licenceCheck) metadata(mdb []byte) *format.Metadata {
	if mdb == nil {
		return nil
	}
	md, err := format.ParseMetadata(mdb)
	switch {
	case err != nil:
		c.bad(Malformed, "%v", err)
	case md.ID != c.l.ID:
		c.bad(Malformed, "%s: names %s", format.MetadataFile, md.ID)
	}
	return md
}

// checkOFD checks licence.ofd: VALID, and signed as of the time the
// metadata says. It returns the file and its one signature, for bind,
// when both hold.
func (c *licenceCheck) checkOFD(ofdb []byte, md *format.Metadata) (*certsofd.Package, *ofd.Signature) {
	if ofdb == nil {
		return nil, nil
	}
	pkg, err := certsofd.Open(ofdb, nil)
	if err != nil {
		c.l.OFD = ofd.Malformed
		c.bad(OFD, "%s: %v", format.OFDFile, err)
		return nil, nil
	}
	r := ofd.VerifyPackage(pkg, c.p.ofdOpts)
	c.l.OFD = r.Verdict
	if !r.Verdict.OK() {
		c.bad(OFD, "%s: %s %s", format.OFDFile, r.Verdict, ofdDetail(r))
		return nil, nil
	}
	if md == nil {
		return nil, nil
	}
	one := len(r.Signatures) == 1 && r.Signatures[0].SignedAt.Equal(md.SignedAt)
	if !one {
		c.bad(OFD, "%s: not the one signature as of %s that %s records", format.OFDFile, md.SignedAt.Format(time.RFC3339), format.MetadataFile)
	}
	// The metadata is what the sealed file says: its CustomDatas (OFD.xml
	// is protected), which name this version.
	cds := pkg.Root.Bodies[0].CustomData
	same := len(cds) == len(md.Items)
	for i := 0; same && i < len(cds); i++ {
		same = cds[i].Name == md.Items[i].Name && cds[i].Value == md.Items[i].Value
	}
	if !same {
		c.bad(OFD, "%s: its items are not the CustomDatas of %s", format.MetadataFile, format.OFDFile)
	}
	if len(cds) == 0 || cds[0].Name != format.ItemID || cds[0].Value != c.l.ID {
		c.bad(OFD, "%s: is not the file of %s", format.OFDFile, c.l.ID)
		return nil, nil
	}
	if !one {
		return nil, nil
	}
	return pkg, &r.Signatures[0]
}

// ofdDetail says why a file is not VALID, never nothing: the document's
// detail, else that of its first signature of the same verdict, else what
// the verdict means; for an untrusted maker, which makers are trusted here.
func ofdDetail(r *ofd.Report) string {
	d := r.Detail
	for _, s := range r.Signatures {
		if d == "" && s.Verdict == r.Verdict {
			d = s.Detail
			if d == "" && s.Maker != "" {
				d = fmt.Sprintf("signature %s: seal made by %q", s.ID, s.Maker)
			}
		}
	}
	if d == "" {
		d = r.Verdict.Message()
	}
	if r.Verdict == ofd.UntrustedMaker {
		d += " (a licence file's seal must be made by one of the agency's certificates this package's checks trust)"
	}
	return d
}

// checkCredential verifies the credential as of the version's issuance
// and returns the licence it carries and the keys of its key ID (nil
// when it does not verify).
func (c *licenceCheck) checkCredential(cred []byte, credSM3 [32]byte, md *format.Metadata) (*credential.License, []credential.IssuerKey) {
	if cred == nil {
		return nil, nil
	}
	if md != nil && md.Credential != format.Digest(credSM3) {
		c.bad(Credential, "%s: its SM3 is not the metadata's", format.CredentialFile)
	}
	opts := credential.VerifyOptions{Catalog: c.p.cat, Keys: c.p.keys}
	if md != nil {
		opts.Now = md.IssuedAt
	}
	lic, err := credential.Verify(string(cred), opts)
	switch {
	case err != nil:
		c.bad(Credential, "%s: %v", format.CredentialFile, err)
		return nil, nil
	case lic.ID != c.l.ID:
		c.bad(Credential, "%s: is licence %s", format.CredentialFile, lic.ID)
		return nil, nil
	case md != nil && md.Class != lic.Class:
		c.bad(Credential, "%s: class %q, the credential's is %q", format.MetadataFile, md.Class, lic.Class)
	}
	// It verified, so its header parses and names a key of keys.
	t, err := jws.Parse(string(cred), jws.Expect{Typ: credential.TokenType, RequireKid: true})
	if err != nil {
		c.bad(Credential, "%s: %v", format.CredentialFile, err)
		return nil, nil
	}
	return lic, c.p.keys.IssuerKeys(t.Header.Kid)
}

// checkEvents checks the version's events: about it, included in the
// checkpoint (when it verified), and, when hasCred, one recording the
// credential whose SM3 is credSM3.
func (c *licenceCheck) checkEvents(evb []byte, hasCred bool, credSM3 [32]byte, cp tlog.Checkpoint, cpOK bool) {
	evs, err := format.ParseEvents(evb)
	if err != nil {
		c.bad(Malformed, "%v", err)
		return
	}
	c.l.Events = len(evs.Events)
	issued := false
	for _, e := range evs.Events {
		ev, records := c.event(e, credSM3)
		if ev == nil {
			continue
		}
		c.l.Status = format.StatusAfter(c.l.Status, ev, c.l.ID)
		issued = issued || records
		if !cpOK {
			continue
		}
		if evs.CheckpointSize != cp.Size {
			c.bad(Event, "%s: proofs for tree size %d, the checkpoint has %d", format.EventsFile, evs.CheckpointSize, cp.Size)
			break
		}
		c.inclusion(e, cp)
	}
	if !issued && hasCred {
		c.bad(Event, "no issue or reissue event records this credential")
	}
}

// event decodes e and checks it is about the version; records says it
// issues the credential whose SM3 is credSM3. ev is nil when e does not
// decode.
func (c *licenceCheck) event(e format.Event, credSM3 [32]byte) (ev ledgerevent.Event, records bool) {
	id := c.l.ID
	ev, err := ledgerevent.Decode(e.Raw)
	if err != nil {
		c.bad(Malformed, "event %d: %v", e.Index, err)
		return nil, false
	}
	h := ev.Head()
	if h.Agency != c.p.agency {
		c.bad(Event, "event %d is an event of agency %s", e.Index, h.Agency)
	}
	if base, _, _ := strings.Cut(h.Subject, "#"); base != id {
		if re, ok := ev.(*ledgerevent.Reissue); !ok || re.Supersedes != id {
			c.bad(Event, "event %d is about %s", e.Index, h.Subject)
		}
	}
	switch x := ev.(type) {
	case *ledgerevent.Issue:
		records = x.ID == id && [32]byte(x.Credential) == credSM3
	case *ledgerevent.Reissue:
		records = x.ID == id && [32]byte(x.Credential) == credSM3
	}
	return ev, records
}

// inclusion checks e's proof against cp.
func (c *licenceCheck) inclusion(e format.Event, cp tlog.Checkpoint) {
	proof := make([]tlog.Hash, len(e.Proof))
	for i, d := range e.Proof {
		proof[i] = tlog.Hash(d)
	}
	if err := tlog.SM3.VerifyInclusion(tlog.SM3.HashLeaf(e.Raw), e.Index, cp.Size, proof, cp.Root); err != nil {
		c.bad(Event, "event %d: inclusion proof does not verify against the checkpoint: %v", e.Index, err)
	}
}

func done(l Licence) Licence {
	l.OK = len(l.Problems) == 0
	slices.SortFunc(l.Problems, func(a, b Problem) int { return strings.Compare(a.Message, b.Message) })
	return l
}

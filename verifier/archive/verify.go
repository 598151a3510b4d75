package archive

import (
	"archive/zip"
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	format "elicense/certs/archive"
	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
	"elicense/verifier/ofd"
)

// Options say what Verify trusts.
type Options struct {
	// Roots, when set, are the pinned roots: the package's root must be
	// one of them (byte for byte).
	Roots   []*gm.Certificate
	Catalog *catalog.Catalog // nil means catalog.Default()
}

// Licence is the outcome for one licence version.
type Licence struct {
	ID       string      `json:"id"`
	OK       bool        `json:"ok"`
	OFD      ofd.Verdict `json:"ofd,omitempty"`
	Events   int         `json:"events"`
	Status   string      `json:"status,omitempty"`
	Problems []string    `json:"problems,omitempty"`
}

// Report is the outcome for the package.
type Report struct {
	OK         bool      `json:"ok"`
	Agency     string    `json:"agency,omitempty"`
	From       time.Time `json:"from,omitzero"`
	To         time.Time `json:"to,omitzero"`
	Count      int       `json:"count"`
	Root       string    `json:"root_sm3,omitempty"` // SM3 fingerprint of the root certificate
	Pinned     bool      `json:"pinned"`             // the root is one of Options.Roots
	Checkpoint uint64    `json:"checkpoint_size,omitempty"`
	Problems   []string  `json:"problems,omitempty"` // package-level
	Licences   []Licence `json:"licences"`
}

// ErrUnreadable means the package could not be checked at all (not a
// zip, no manifest): exit 2, not a verdict.
var ErrUnreadable = errors.New("archive: cannot read the package")

type pkg struct {
	files map[string]*zip.File
	rep   *Report
}

func (p *pkg) problem(format string, args ...any) {
	p.rep.Problems = append(p.rep.Problems, fmt.Sprintf(format, args...))
}

func (p *pkg) read(name string, limit int64) ([]byte, error) {
	f, ok := p.files[name]
	if !ok {
		return nil, fmt.Errorf("%s is missing", name)
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%s: %d bytes, at most %d", name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

// Verify checks the package in r. The error is ErrUnreadable (wrapped)
// when it cannot be checked; otherwise the report says what holds.
func Verify(r io.ReaderAt, size int64, o Options) (*Report, error) {
	cat := o.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	p := &pkg{files: make(map[string]*zip.File, len(zr.File)), rep: &Report{Licences: []Licence{}}}
	for _, f := range zr.File {
		if err := format.CheckPath(f.Name); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
		}
		if p.files[f.Name] != nil {
			return nil, fmt.Errorf("%w: %s twice", ErrUnreadable, f.Name)
		}
		p.files[f.Name] = f
	}
	mb, err := p.read(format.ManifestPath, format.MaxManifestSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	m, err := format.ParseManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	rep := p.rep
	rep.Agency, rep.From, rep.To, rep.Count = m.Agency, m.From, m.To, m.Count

	// Fixity first: every listed file's SM3, nothing unlisted.
	listed := make(map[string]format.File, len(m.Files))
	for _, f := range m.Files {
		listed[f.Path] = f
		b, err := p.read(f.Path, max(format.MaxFileSize, format.MaxJSONSize))
		if err != nil {
			p.problem("%v", err)
			continue
		}
		if d := gm.SM3(b); int64(len(b)) != f.Size || subtle.ConstantTimeCompare(d[:], f.SM3[:]) != 1 {
			p.problem("%s: SM3 or size differs from the manifest (file modified)", f.Path)
		}
	}
	for name := range p.files {
		if _, ok := listed[name]; !ok && name != format.ManifestPath && name != format.SignaturePath {
			p.problem("%s: not in the manifest", name)
		}
	}

	// Trust: the root, certificates chaining to it, the manifest signature.
	cert := func(name string) *gm.Certificate {
		b, err := p.read(name, format.MaxFileSize)
		if err != nil {
			p.problem("%v", err)
			return nil
		}
		c, err := gm.ParseCertificate(b)
		if err != nil {
			p.problem("%s: %v", name, err)
			return nil
		}
		return c
	}
	root := cert(format.RootPath)
	if root == nil {
		return rep, nil
	}
	fp := gm.SM3(root.Raw)
	rep.Root = hex.EncodeToString(fp[:])
	for _, pin := range o.Roots {
		if subtle.ConstantTimeCompare(pin.Raw, root.Raw) == 1 {
			rep.Pinned = true
		}
	}
	if len(o.Roots) > 0 && !rep.Pinned {
		p.problem("the package's root %s is not a pinned root", rep.Root)
	}
	chained := func(name string) *gm.Certificate {
		c := cert(name)
		if c == nil {
			return nil
		}
		if err := c.CheckSignatureFrom(root); err != nil {
			p.problem("%s: not issued by the package's root: %v", name, err)
			return nil
		}
		return c
	}
	ledgerCert := chained(format.LedgerCertPath)
	kb, err := p.read(format.KeysPath, format.MaxJSONSize)
	var keys *format.Keys
	if err == nil {
		keys, err = format.ParseKeys(kb)
	}
	if err != nil {
		p.problem("%v", err)
		return finish(rep), nil
	}
	keySet := credential.KeySet{}
	var signer *gm.Certificate
	for _, k := range keys.Keys {
		c := chained(format.AgencyCertPath(k.KeyID))
		if c == nil {
			continue
		}
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		if !ok {
			p.problem("%s: not an SM2 key", format.AgencyCertPath(k.KeyID))
			continue
		}
		ik := credential.IssuerKey{Public: pub, AgencyCode: keys.Agency, NotBefore: c.NotBefore, NotAfter: c.NotAfter, Classes: classes(cat)}
		switch k.State {
		case format.KeyRetired:
			ik.RetiredSince = k.Since
		case format.KeyCompromised:
			ik.CompromisedSince = k.Since
		}
		keySet[k.KeyID] = append(keySet[k.KeyID], ik)
		if k.KeyID == m.Signer {
			signer = c
		}
	}
	if keys.Agency != m.Agency {
		p.problem("%s names agency %s, the manifest %s", format.KeysPath, keys.Agency, m.Agency)
	}
	sig, err := p.read(format.SignaturePath, 1024)
	switch {
	case err != nil:
		p.problem("%v", err)
	case signer == nil:
		p.problem("the manifest's signer %s is not an agency key of the package", m.Signer)
	default:
		if err := gm.Verify(signer.PublicKey.(*ecdsa.PublicKey), mb, sig); err != nil {
			p.problem("manifest.sig: the manifest's signature does not verify: %v", err)
		}
	}

	// The checkpoint.
	var cp tlog.Checkpoint
	cpOK := false
	if note, err := p.read(format.CheckpointPath, 64<<10); err != nil {
		p.problem("%v", err)
	} else if ledgerCert != nil {
		v, err := tlog.NewNoteVerifier(m.Origin, ledgerCert.PublicKey.(*ecdsa.PublicKey))
		if err == nil {
			cp, err = tlog.VerifyCheckpoint(note, m.Origin, v)
		}
		if err != nil {
			p.problem("%s: not signed by the ledger key for %s: %v", format.CheckpointPath, m.Origin, err)
		} else {
			cpOK = true
			rep.Checkpoint = cp.Size
		}
	}

	// Each licence version.
	var ids []string
	seen := map[string]bool{}
	for _, f := range m.Files {
		if id, _, ok := format.LicenceOf(f.Path); ok && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) != m.Count {
		p.problem("the manifest counts %d licences, lists %d", m.Count, len(ids))
	}
	ofdOpts := ofd.Options{Roots: []*gm.Certificate{root}, AtSigningTime: true}
	// Versions are independent: checked on every core, reported in order.
	rep.Licences = make([]Licence, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rep.Licences[i] = p.licence(ids[i], cat, keySet, ofdOpts, cp, cpOK)
			}
		}()
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	return finish(rep), nil
}

func finish(rep *Report) *Report {
	rep.OK = len(rep.Problems) == 0
	for _, l := range rep.Licences {
		rep.OK = rep.OK && l.OK
	}
	return rep
}

func classes(cat *catalog.Catalog) []string {
	var out []string
	for _, cl := range cat.Classes() {
		out = append(out, cl.Key)
	}
	return out
}

func (p *pkg) licence(id string, cat *catalog.Catalog, keys credential.KeySet, ofdOpts ofd.Options, cp tlog.Checkpoint, cpOK bool) Licence {
	l := Licence{ID: id}
	bad := func(format string, args ...any) { l.Problems = append(l.Problems, fmt.Sprintf(format, args...)) }
	dir := format.LicenceDir(id)
	get := func(name string) []byte {
		b, err := p.read(dir+name, max(format.MaxFileSize, format.MaxJSONSize))
		if err != nil {
			bad("%v", err)
		}
		return b
	}
	mdb, ofdb, cred, evb := get(format.MetadataFile), get(format.OFDFile), get(format.CredentialFile), get(format.EventsFile)
	var md *format.Metadata
	if mdb != nil {
		var err error
		if md, err = format.ParseMetadata(mdb); err != nil {
			bad("%v", err)
		} else if md.ID != id {
			bad("%s: names %s", format.MetadataFile, md.ID)
		} else {
			l.Status = md.Status
		}
	}
	if ofdb != nil {
		r, _ := ofd.Verify(ofdb, ofdOpts)
		l.OFD = r.Verdict
		if !r.Verdict.OK() {
			bad("%s: %s %s", format.OFDFile, r.Verdict, r.Detail)
		}
	}
	credSM3 := gm.SM3(cred)
	if cred != nil {
		opts := credential.VerifyOptions{Catalog: cat, Keys: keys}
		if md != nil {
			opts.Now = md.IssuedAt
		}
		if lic, err := credential.Verify(string(cred), opts); err != nil {
			bad("%s: %v", format.CredentialFile, err)
		} else if lic.ID != id {
			bad("%s: is licence %s", format.CredentialFile, lic.ID)
		}
		if md != nil && md.Credential != format.Digest(credSM3) {
			bad("%s: its SM3 is not the metadata's", format.CredentialFile)
		}
	}
	if evb == nil {
		return done(l)
	}
	evs, err := format.ParseEvents(evb)
	if err != nil {
		bad("%v", err)
		return done(l)
	}
	l.Events = len(evs.Events)
	issued := false
	for _, e := range evs.Events {
		ev, err := ledgerevent.Decode(e.Raw)
		if err != nil {
			bad("event %d: %v", e.Index, err)
			continue
		}
		h := ev.Head()
		if base, _, _ := strings.Cut(h.Subject, "#"); base != id {
			if re, ok := ev.(*ledgerevent.Reissue); !ok || re.Supersedes != id {
				bad("event %d is about %s", e.Index, h.Subject)
			}
		}
		switch x := ev.(type) {
		case *ledgerevent.Issue:
			issued = issued || x.ID == id && [32]byte(x.Credential) == credSM3
		case *ledgerevent.Reissue:
			issued = issued || x.ID == id && [32]byte(x.Credential) == credSM3
		}
		if !cpOK {
			continue
		}
		if evs.CheckpointSize != cp.Size {
			bad("%s: proofs for tree size %d, the checkpoint has %d", format.EventsFile, evs.CheckpointSize, cp.Size)
			break
		}
		proof := make([]tlog.Hash, len(e.Proof))
		for i, d := range e.Proof {
			proof[i] = tlog.Hash(d)
		}
		if err := tlog.SM3.VerifyInclusion(tlog.SM3.HashLeaf(e.Raw), e.Index, cp.Size, proof, cp.Root); err != nil {
			bad("event %d: inclusion proof does not verify against the checkpoint: %v", e.Index, err)
		}
	}
	if !issued && cred != nil {
		bad("no issue or reissue event records this credential")
	}
	return done(l)
}

func done(l Licence) Licence {
	l.OK = len(l.Problems) == 0
	slices.Sort(l.Problems)
	return l
}

package archive

import (
	"archive/zip"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	format "elicense/certs/archive"
	"elicense/certs/catalog"
	"elicense/certs/ledgerevent"
	"elicense/certs/ofd"
	"elicense/internal/chinatime"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/pki"
	"elicense/issuer/state"
)

// Proofs is the open ledger as Export reads it (a *ledger.Log).
type Proofs interface {
	Origin() string
	Size() uint64
	InclusionProof(index, treeSize uint64) ([]tlog.Hash, error)
}

// Files makes a licence version's OFD file, the same bytes each time,
// and says the time it is signed as of (service.ArchiveFile).
type Files interface {
	ArchiveFile(r *state.Record) (ofd []byte, signedAt time.Time, err error)
}

// Source is what Export reads.
type Source struct {
	Ledger  Proofs
	Entries ledger.Reader // the ledger's store: entries and stored checkpoints
	Records state.Licences
	Files   Files
	PKI     *pki.PKI
	// Catalog is the class catalogue the licences' files are made with
	// (nil means catalog.Default()): the package carries it, so that the
	// items its files must carry can be derived after the catalogue has
	// changed.
	Catalog *catalog.Catalog
}

// Options of Export.
type Options struct {
	Agency   string
	From, To time.Time
	// Progress, if set, is called after each licence version written.
	Progress func(done, total int)
	// Wait is how long to wait for a stored checkpoint covering the
	// period's events, when none is yet (the ledger signs one within its
	// checkpoint interval); zero fails at once with ErrNoCheckpoint.
	Wait time.Duration
	// Now is the time of the export (zero: time.Now()). A period must
	// have ended by then: events may still be recorded in one that has
	// not, and the package, dated at its end, would not hold them.
	Now time.Time
}

// Result describes the package written.
type Result struct {
	Count          int
	Manifest       [32]byte // SM3 of manifest.json
	CheckpointSize uint64
}

// ParseDate reads a period bound: RFC 3339, or a day (YYYY-MM-DD)
// meaning its midnight in China time, from 1970 to 9999 (in UTC, as the
// package records it: a time outside has no RFC 3339 form, and no
// licence is older).
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		if t, err = time.ParseInLocation(time.DateOnly, s, chinatime.Zone); err != nil {
			return time.Time{}, fmt.Errorf("%q is not RFC 3339 or YYYY-MM-DD", s)
		}
	}
	if u := t.UTC(); u.Before(minDate) || u.Year() > 9999 {
		return time.Time{}, fmt.Errorf("%s is outside the dates a package holds (1970-01-01, China time, to 9999-12-31, UTC)", s)
	}
	return t, nil
}

var minDate = time.Date(1970, 1, 1, 0, 0, 0, 0, chinatime.Zone)

// Errors of Export.
var (
	ErrInvalid      = errors.New("archive: invalid request")
	ErrNoCheckpoint = errors.New("archive: no signed checkpoint covers the period yet")
	// ErrNothing: no licence event of the agency in the period, so no
	// package (an empty one would vouch for nothing, and be recorded).
	ErrNothing = errors.New("archive: nothing to archive")
)

type version struct {
	events []uint64
}

// Export writes the package of o's period to w.
func Export(ctx context.Context, w io.Writer, src Source, o Options) (*Result, error) {
	if !o.From.Before(o.To) {
		return nil, fmt.Errorf("%w: from %v is not before to %v", ErrInvalid, o.From, o.To)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if o.To.After(now) {
		return nil, fmt.Errorf("%w: the period ends at %v, after now (%v): export it once it has ended", ErrInvalid, o.To.UTC(), now.UTC())
	}
	ag, ok := src.PKI.Agency(o.Agency)
	if !ok {
		return nil, fmt.Errorf("%w: no agency %q", ErrInvalid, o.Agency)
	}
	from, to := o.From.UTC(), o.To.UTC()

	vs, need, err := periodVersions(ctx, src.Entries, src.Ledger.Size(), o.Agency, from, to)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%w: agency %s issued or changed no licence in [%s, %s)", ErrNothing, o.Agency, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	cpSize, note, err := waitCheckpoint(ctx, src.Entries, need, o.Wait)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(vs))
	for id := range vs {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	cat := src.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	pw := &packageWriter{zw: zip.NewWriter(w), at: to}
	pw.add(format.ReadmePath, format.Readme)
	pw.add(format.CataloguePath, cat.JSON())
	pw.trust(src.PKI, ag, note)
	if err := pw.versions(ctx, src, ids, vs, cpSize, o.Progress); err != nil {
		return nil, err
	}
	m := format.Manifest{Format: format.Format, Agency: ag.Code, From: from, To: to, Count: len(ids),
		Origin: src.Ledger.Origin(), Signer: ag.KeyID, Files: pw.files}
	mb, err := pw.finish(m, ag.Signer)
	if err != nil {
		return nil, err
	}
	return &Result{Count: len(ids), Manifest: gm.SM3(mb), CheckpointSize: cpSize}, nil
}

// periodVersions are the versions of agency with an event in [from, to),
// each with its events before to (pass 1 finds them, pass 2 their
// events); need is the ledger size those events reach.
func periodVersions(ctx context.Context, r ledger.Reader, size uint64, agency string, from, to time.Time) (map[string]*version, uint64, error) {
	vs := map[string]*version{}
	err := scan(ctx, r, size, agency, func(_ uint64, t time.Time, ids []string) {
		if !t.Before(from) && t.Before(to) {
			for _, id := range ids {
				if vs[id] == nil {
					vs[id] = &version{}
				}
			}
		}
	})
	if err != nil {
		return nil, 0, err
	}
	var need uint64
	err = scan(ctx, r, size, agency, func(i uint64, t time.Time, ids []string) {
		if !t.Before(to) {
			return
		}
		for _, id := range ids {
			if v := vs[id]; v != nil && (len(v.events) == 0 || v.events[len(v.events)-1] != i) {
				v.events = append(v.events, i)
				need = max(need, i+1)
			}
		}
	})
	if err != nil {
		return nil, 0, err
	}
	return vs, need, nil
}

// waitCheckpoint is checkpointFrom, retried for up to wait while there is
// no such checkpoint yet.
func waitCheckpoint(ctx context.Context, r ledger.Reader, need uint64, wait time.Duration) (uint64, []byte, error) {
	cpSize, note, err := checkpointFrom(ctx, r, need)
	for deadline := time.Now().Add(wait); errors.Is(err, ErrNoCheckpoint) && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		cpSize, note, err = checkpointFrom(ctx, r, need)
	}
	return cpSize, note, err
}

// trust writes the certificates, the agency's keys and the checkpoint
// note.
func (pw *packageWriter) trust(p *pki.PKI, ag *pki.Agency, note []byte) {
	pw.add(format.RootPath, p.RootDER)
	pw.add(format.LedgerCertPath, p.Ledger.CertDER)
	keys := format.Keys{Agency: ag.Code, Name: ag.Name}
	for _, prev := range ag.Previous {
		pw.add(format.AgencyCertPath(prev.KeyID), prev.CertDER)
		keys.Keys = append(keys.Keys, format.Key{KeyID: prev.KeyID, State: prev.State, Since: prev.Since.UTC()})
	}
	pw.add(format.AgencyCertPath(ag.KeyID), ag.CertDER)
	keys.Keys = append(keys.Keys, format.Key{KeyID: ag.KeyID, State: format.KeyActive})
	pw.json(format.KeysPath, keys)
	pw.add(format.CheckpointPath, note)
}

// versions writes the files of each version in ids, in order. Versions
// are built concurrently (the OFD file's QR image and seal are most of
// the work).
func (pw *packageWriter) versions(ctx context.Context, src Source, ids []string, vs map[string]*version, cpSize uint64, progress func(done, total int)) error {
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pending := make(chan chan built, 2*runtime.GOMAXPROCS(0))
	go func() {
		defer close(pending)
		for _, id := range ids {
			ch := make(chan built, 1)
			select {
			case pending <- ch:
			case <-bctx.Done():
				return
			}
			go func() { ch <- build(src, id, vs[id].events, cpSize) }()
		}
	}()
	n := 0
	for ch := range pending {
		b := <-ch
		if b.err != nil {
			return b.err
		}
		for _, f := range b.files {
			pw.add(f.name, f.data)
		}
		if pw.err != nil {
			return pw.err
		}
		n++
		if progress != nil {
			progress(n, len(ids))
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return pw.err
}

// finish writes the manifest m and its signature by signer, and closes
// the package; mb is the manifest's bytes.
func (pw *packageWriter) finish(m format.Manifest, signer crypto.Signer) (mb []byte, err error) {
	mb, err = format.Marshal(m)
	if err != nil {
		return nil, err
	}
	sig, err := signDeterministic(signer, mb)
	if err != nil {
		return nil, fmt.Errorf("archive: signing the manifest: %w", err)
	}
	pw.raw(format.ManifestPath, mb)
	pw.raw(format.SignaturePath, sig)
	if pw.err != nil {
		return nil, pw.err
	}
	if err := pw.zw.Close(); err != nil {
		return nil, err
	}
	return mb, nil
}

// scan calls fn for every licence event of agency in the first size
// entries, with the licence versions it is about (a device copy's event
// is its licence's).
func scan(ctx context.Context, r ledger.Reader, size uint64, agency string, fn func(i uint64, t time.Time, ids []string)) error {
	return r.Entries(ctx, 0, size, func(i uint64, raw []byte) error {
		if len(raw) < 2 || !ledgerevent.Kind(raw[1]).AboutLicence() { // format byte, then kind
			return nil // not a licence event: skip it undecoded
		}
		ev, err := ledgerevent.Decode(raw)
		if err != nil {
			return fmt.Errorf("archive: ledger entry %d: %w", i, err)
		}
		h := ev.Head()
		if h.Agency != agency {
			return nil
		}
		id, _, _ := strings.Cut(h.Subject, "#")
		ids := []string{id}
		if re, ok := ev.(*ledgerevent.Reissue); ok {
			ids = append(ids, re.Supersedes)
		}
		fn(i, h.Time, ids)
		return nil
	})
}

// checkpointFrom returns the first stored signed checkpoint of at least
// need entries.
func checkpointFrom(ctx context.Context, r ledger.Reader, need uint64) (uint64, []byte, error) {
	var size uint64
	var note []byte
	err := r.Checkpoints(ctx, max(need, 1), func(s uint64, n []byte) error {
		size, note = s, slices.Clone(n)
		return ledger.ErrStop
	})
	if err != nil {
		return 0, nil, err
	}
	if note == nil {
		return 0, nil, fmt.Errorf("%w: the period's events reach entry %d; try again after the next checkpoint", ErrNoCheckpoint, need)
	}
	return size, note, nil
}

type packageWriter struct {
	zw    *zip.Writer
	at    time.Time
	files []format.File
	err   error
}

// raw writes one stored entry.
func (p *packageWriter) raw(name string, b []byte) {
	if p.err != nil {
		return
	}
	fw, err := p.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: p.at})
	if err == nil {
		_, err = fw.Write(b)
	}
	p.err = err
}

// add writes one entry and lists it in the manifest.
func (p *packageWriter) add(name string, b []byte) {
	p.raw(name, b)
	p.files = append(p.files, format.File{Path: name, Size: int64(len(b)), SM3: gm.SM3(b)})
}

func (p *packageWriter) json(name string, v any) {
	b, err := format.Marshal(v)
	if err != nil && p.err == nil {
		p.err = err
	}
	p.add(name, b)
}

// built is one licence version's files, in package order.
type built struct {
	files []namedFile
	err   error
}

type namedFile struct {
	name string
	data []byte
}

// build makes licence version id's files.
func build(src Source, id string, events []uint64, cpSize uint64) built {
	files, err := buildFiles(src, id, events, cpSize)
	return built{files, err}
}

func buildFiles(src Source, id string, events []uint64, cpSize uint64) ([]namedFile, error) {
	r, err := src.Records.Get(id)
	if err != nil {
		return nil, fmt.Errorf("archive: licence %s: %w", id, err)
	}
	ofdBytes, signedAt, err := src.Files.ArchiveFile(r)
	if err != nil {
		return nil, fmt.Errorf("archive: licence %s: %w", id, err)
	}
	evs := format.Events{CheckpointSize: cpSize}
	status := format.StatusValid
	supersededBy := ""
	for _, i := range events {
		var raw []byte
		err := src.Entries.Entries(context.Background(), i, i+1, func(_ uint64, e []byte) error {
			raw = slices.Clone(e)
			return nil
		})
		if err != nil {
			return nil, err
		}
		proof, err := src.Ledger.InclusionProof(i, cpSize)
		if err != nil {
			return nil, fmt.Errorf("archive: proof of entry %d: %w", i, err)
		}
		ev, err := ledgerevent.Decode(raw)
		if err != nil {
			return nil, err
		}
		status = format.StatusAfter(status, ev, id)
		if e, ok := ev.(*ledgerevent.Reissue); ok && e.Supersedes == id {
			supersededBy = e.ID
		}
		ps := make([]format.Digest, len(proof))
		for j, h := range proof {
			ps[j] = format.Digest(h)
		}
		evs.Events = append(evs.Events, format.Event{Index: i, Kind: ev.Kind().String(), Raw: raw, Proof: ps})
	}
	cred := []byte(r.Credential)
	items, err := ofdItems(ofdBytes)
	if err != nil {
		return nil, fmt.Errorf("archive: licence %s: its OFD file: %w", id, err)
	}
	md := format.Metadata{ID: r.ID, Class: r.Class, Items: items, IssuedAt: r.IssuedAt.UTC(),
		Status: status, Supersedes: r.Supersedes, SupersededBy: supersededBy, Credential: gm.SM3(cred), SignedAt: signedAt}
	dir := format.LicenceDir(id)
	mdb, err := format.Marshal(md)
	if err != nil {
		return nil, err
	}
	evb, err := format.Marshal(evs)
	if err != nil {
		return nil, err
	}
	return []namedFile{{dir + format.MetadataFile, mdb}, {dir + format.OFDFile, ofdBytes},
		{dir + format.CredentialFile, cred}, {dir + format.EventsFile, evb}}, nil
}

// ofdItems are the GB/T 36903 metadata the OFD file carries (its
// CustomDatas, written by issuer/ofdfile): metadata.json repeats them, so
// the two cannot differ.
func ofdItems(b []byte) ([]format.Item, error) {
	p, err := ofd.Open(b, nil)
	if err != nil {
		return nil, err
	}
	var out []format.Item
	for _, cd := range p.Root.Bodies[0].CustomData {
		out = append(out, format.Item{Name: cd.Name, Value: cd.Value})
	}
	return out, nil
}

// signDeterministic signs msg with SM2: deterministic nonces for a file
// key, so the same manifest gives the same signature.
func signDeterministic(s crypto.Signer, msg []byte) ([]byte, error) {
	if k, ok := s.(*gm.PrivateKey); ok {
		return k.Sign(nil, msg, nil)
	}
	return gm.Sign(s, msg)
}

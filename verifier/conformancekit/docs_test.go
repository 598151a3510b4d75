package conformancekit

import (
	"crypto/ecdsa"
	"errors"
	"strings"
	"testing"

	"elicense/certs/ledgerevent"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

var statusErrs = map[string]error{
	"statuslist.ErrMalformed": statuslist.ErrMalformed, "statuslist.ErrBadSignature": statuslist.ErrBadSignature,
	"statuslist.ErrUnknownKey": statuslist.ErrUnknownKey, "statuslist.ErrWrongList": statuslist.ErrWrongList,
	"statuslist.ErrExpired": statuslist.ErrExpired, "statuslist.ErrTooLarge": statuslist.ErrTooLarge,
	"statuslist.ErrRollback": statuslist.ErrRollback, "statuslist.ErrWrongBase": statuslist.ErrWrongBase,
}

var trustErrs = map[string]error{
	"trust.ErrMalformed": trust.ErrMalformed, "trust.ErrBadSignature": trust.ErrBadSignature,
	"trust.ErrUntrustedSigner": trust.ErrUntrustedSigner, "trust.ErrUntrustedKey": trust.ErrUntrustedKey,
	"trust.ErrKeyIDMismatch": trust.ErrKeyIDMismatch, "trust.ErrUnknownClass": trust.ErrUnknownClass,
	"trust.ErrRollback": trust.ErrRollback, "trust.ErrGenuineSet": trust.ErrGenuineSet,
}

var tlogErrs = map[string]error{
	"tlog.ErrInclusionProof": tlog.ErrInclusionProof, "tlog.ErrConsistency": tlog.ErrConsistency,
	"tlog.ErrMalformedNote": tlog.ErrMalformedNote, "tlog.ErrBadCheckpoint": tlog.ErrBadCheckpoint,
	"tlog.ErrBadSignature": tlog.ErrBadSignature, "tlog.ErrNoKnownSignature": tlog.ErrNoKnownSignature,
	"tlog.ErrBadKey": tlog.ErrBadKey, "tlog.ErrBadTile": tlog.ErrBadTile,
}

var eventErrs = map[string]error{
	"ledgerevent.ErrMalformed": ledgerevent.ErrMalformed, "ledgerevent.ErrOpening": ledgerevent.ErrOpening,
	"ledgerevent.ErrNoField": ledgerevent.ErrNoField,
}

type statusInput struct {
	Op         string `json:"op"`
	List       string `json:"list"`
	Token      string `json:"token"`
	Base       string `json:"base"`
	Delta      []byte `json:"delta"`
	Index      int    `json:"index"`
	MinVersion uint64 `json:"min_version"`
}

func runStatus(t *testing.T, e *env, v vector) string {
	var in statusInput
	mustInput(t, v, &in)
	b := e.state.Bundle
	sl, ok := b.StatusList(in.List)
	if !ok {
		t.Fatalf("%s: no list %s in the context bundle", v.ID, in.List)
	}
	opts := statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(in.List), Now: v.Now, MinVersion: in.MinVersion}
	switch in.Op {
	case "token", "lookup":
		s, err := statuslist.Parse(in.Token, opts)
		if err != nil {
			return reject(err, statusErrs)
		}
		if in.Op == "lookup" {
			return statusCode(s, in.Index, "VALID")
		}
		return "VALID"
	case "delta":
		// The base is the list already held, accepted before: the
		// high-water mark (min_version) applies to the delta alone.
		bo := opts
		bo.MinVersion = 0
		base, err := statuslist.Parse(in.Base, bo)
		if err != nil {
			return reject(err, statusErrs)
		}
		d, err := statuslist.ParseDelta(in.Delta, opts)
		if err != nil {
			return reject(err, statusErrs)
		}
		if _, err := statuslist.Apply(base, d); err != nil {
			return reject(err, statusErrs)
		}
		return "VALID"
	}
	t.Fatalf("%s: unknown op %q", v.ID, in.Op)
	return ""
}

type trustInput struct {
	Op        string `json:"op"`
	Bundle    string `json:"bundle"`
	RootPEM   string `json:"root_pem"`
	Previous  string `json:"previous"`
	Kid       string `json:"kid"`
	Doc       []byte `json:"doc"`
	List      string `json:"list"`
	ListToken string `json:"list_token"`
}

func runTrust(t *testing.T, e *env, v vector) string {
	var in trustInput
	mustInput(t, v, &in)
	opts := trust.VerifyOptions{Roots: e.roots, Now: v.Now}
	if in.RootPEM != "" {
		roots, err := gm.ParseCertificatesPEM([]byte(in.RootPEM))
		if err != nil {
			t.Fatalf("%s: root: %v", v.ID, err)
		}
		opts.Roots = roots
	}
	if in.Previous != "" {
		p, err := trust.Verify(in.Previous, opts)
		if err != nil {
			t.Fatalf("%s: previous bundle: %v", v.ID, err)
		}
		opts.Previous = p
	}
	b, err := trust.Verify(in.Bundle, opts)
	if errors.Is(err, trust.ErrStale) && b != nil {
		return "warn"
	}
	if err != nil {
		return reject(err, trustErrs)
	}
	if b.Checkpoint != "" {
		// As a counter does on sync (verifier/store): the checkpoint is
		// verified with the bundle's ledger key (TRUST-13).
		if err := verifyBundleCheckpoint(b); err != nil {
			return reject(err, tlogErrs)
		}
	}
	switch in.Op {
	case "bundle":
		return "VALID"
	case "genuine":
		if _, err := b.VerifyGenuineSet(in.Kid, in.Doc); err != nil {
			return reject(err, trustErrs)
		}
		return "VALID"
	case "bundle+list":
		sl, ok := b.StatusList(in.List)
		if !ok {
			t.Fatalf("%s: no list %s", v.ID, in.List)
		}
		_, err := statuslist.Parse(in.ListToken, statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(in.List), Now: v.Now, MinVersion: sl.Version})
		if err != nil {
			return reject(err, statusErrs)
		}
		return "VALID"
	}
	t.Fatalf("%s: unknown op %q", v.ID, in.Op)
	return ""
}

func verifyBundleCheckpoint(b *trust.Bundle) error {
	if b.LedgerKey == nil {
		return errors.New("no ledger key")
	}
	cert, err := gm.ParseCertificate(b.LedgerKey.Cert)
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return errors.New("ledger key not SM2")
	}
	origin, _, _ := strings.Cut(b.Checkpoint, "\n")
	nv, err := tlog.NewNoteVerifier(origin, pub)
	if err != nil {
		return err
	}
	_, err = tlog.VerifyCheckpoint([]byte(b.Checkpoint), origin, nv)
	return err
}

type ledgerInput struct {
	Op        string   `json:"op"`
	Note      string   `json:"note"`
	VKey      string   `json:"vkey"`
	Origin    string   `json:"origin"`
	LeafHash  []byte   `json:"leaf_hash"`
	Index     uint64   `json:"index"`
	Size      uint64   `json:"size"`
	Size1     uint64   `json:"size1"`
	Size2     uint64   `json:"size2"`
	Root      []byte   `json:"root"`
	Root1     []byte   `json:"root1"`
	Root2     []byte   `json:"root2"`
	Proof     [][]byte `json:"proof"`
	Entry     []byte   `json:"entry"`
	OpenField string   `json:"open_field"`
	OpenSalt  []byte   `json:"open_salt"`
	OpenValue string   `json:"open_value"`
	TilePath  string   `json:"tile_path"`
	TileData  []byte   `json:"tile_data"`
}

func hash(t *testing.T, b []byte) tlog.Hash {
	var h tlog.Hash
	if len(b) != len(h) {
		t.Fatalf("hash of %d bytes", len(b))
	}
	copy(h[:], b)
	return h
}

func proofOf(t *testing.T, p [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i := range p {
		out[i] = hash(t, p[i])
	}
	return out
}

func runLedger(t *testing.T, _ *env, v vector) string {
	var in ledgerInput
	mustInput(t, v, &in)
	var err error
	switch in.Op {
	case "checkpoint":
		var nv *tlog.NoteVerifier
		if nv, err = tlog.ParseNoteVerifier(in.VKey); err != nil {
			t.Fatalf("%s: vkey: %v", v.ID, err)
		}
		_, err = tlog.VerifyCheckpoint([]byte(in.Note), in.Origin, nv)
	case "vkey":
		_, err = tlog.ParseNoteVerifier(in.VKey)
	case "inclusion":
		err = tlog.VerifyInclusion(hash(t, in.LeafHash), in.Index, in.Size, proofOf(t, in.Proof), hash(t, in.Root))
	case "consistency":
		err = tlog.VerifyConsistency(in.Size1, in.Size2, proofOf(t, in.Proof), hash(t, in.Root1), hash(t, in.Root2))
	case "event":
		return runEvent(in)
	case "tile":
		return runTile(t, in)
	default:
		t.Fatalf("%s: unknown op %q", v.ID, in.Op)
	}
	if err != nil {
		return reject(err, tlogErrs)
	}
	return "VALID"
}

func runEvent(in ledgerInput) string {
	if err := tlog.CheckEntryLen(in.Entry); err != nil {
		return "reject:ledgerevent.ErrMalformed"
	}
	ev, err := ledgerevent.Decode(in.Entry)
	if err != nil {
		return reject(err, eventErrs)
	}
	if in.OpenField != "" {
		o := ledgerevent.Opening{Field: in.OpenField, Value: []byte(in.OpenValue)}
		copy(o.Salt[:], in.OpenSalt)
		if err := ledgerevent.VerifyOpening(ev, o); err != nil {
			return reject(err, eventErrs)
		}
	}
	return "VALID"
}

// runTile parses a tile by its path; with a root, the leaf hashes of a
// tile from leaf 0 must give the root of the tree they cover.
func runTile(t *testing.T, in ledgerInput) string {
	tile, err := tlog.ParseTilePath(in.TilePath)
	if err != nil {
		return reject(err, tlogErrs)
	}
	var leaves []tlog.Hash
	if tile.Entries {
		entries, err := tlog.ParseEntryBundle(tile, in.TileData)
		if err != nil {
			return reject(err, tlogErrs)
		}
		for _, e := range entries {
			leaves = append(leaves, tlog.SM3.HashLeaf(e))
		}
	} else if leaves, err = tlog.ParseHashTile(tile, in.TileData); err != nil {
		return reject(err, tlogErrs)
	}
	if in.Root != nil {
		if tile.Level != 0 || tile.Index != 0 || uint64(len(leaves)) != in.Size {
			t.Fatalf("tile vector with a root must cover leaves 0 … size-1")
		}
		m := tlog.NewMemTree(tlog.SM3)
		for _, h := range leaves {
			m.AppendLeaf(h)
		}
		if m.Root() != hash(t, in.Root) {
			return "MISMATCH(root)"
		}
	}
	return "VALID"
}

package conformance

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

// ledgerInput is the input of a ledger vector (files.go documents it).
type ledgerInput struct {
	Op       string   `json:"op"`
	Note     string   `json:"note,omitempty"`
	VKey     string   `json:"vkey,omitempty"`
	Origin   string   `json:"origin,omitempty"`
	LeafHash []byte   `json:"leaf_hash,omitempty"`
	Index    uint64   `json:"index,omitempty"`
	Size     uint64   `json:"size,omitempty"`
	Size1    uint64   `json:"size1,omitempty"`
	Size2    uint64   `json:"size2,omitempty"`
	Root     []byte   `json:"root,omitempty"`
	Root1    []byte   `json:"root1,omitempty"`
	Root2    []byte   `json:"root2,omitempty"`
	Proof    [][]byte `json:"proof,omitempty"`
	Entry    []byte   `json:"entry,omitempty"`
	// TilePath and TileData: a C2SP tile (hash tile or entry bundle) as
	// served under the log's prefix; Root, when set for a tile starting at
	// leaf 0, is the root of the tree of Size leaves the tile covers.
	TilePath string `json:"tile_path,omitempty"`
	TileData []byte `json:"tile_data,omitempty"`
	// Opening, for an event: the field, salt and value that must open
	// the entry's commitment (EVENT-05).
	OpenField string `json:"open_field,omitempty"`
	OpenSalt  []byte `json:"open_salt,omitempty"`
	OpenValue string `json:"open_value,omitempty"`
}

func init() { ctxSteps = append(ctxSteps, (*kit).ledgerVectors) }

func (k *kit) ledgerVectors(ctx *Context) error {
	if err := k.checkpointVectors(ctx); err != nil {
		return err
	}
	if err := k.proofVectors(); err != nil {
		return err
	}
	if err := k.tileVectors(); err != nil {
		return err
	}
	return k.eventVectors()
}

func (k *kit) tileVectors() error {
	const f = "ledger.json"
	add := func(in ledgerInput, want, desc string, rules ...string) {
		in.Op = "tile"
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	tree := tlog.NewMemTree(tlog.SM3)
	var bundle, hashTile []byte
	for i := range 7 {
		e := fmt.Appendf(nil, "entry %d", i)
		tree.AppendEntry(e)
		var err error
		if bundle, err = tlog.AppendBundleEntry(bundle, e); err != nil {
			return err
		}
		h := tlog.SM3.HashLeaf(e)
		hashTile = append(hashTile, h[:]...)
	}
	root := tree.Root()
	add(ledgerInput{TilePath: "tile/entries/000.p/7", TileData: bundle, Size: 7, Root: root[:]}, "VALID",
		"the partial entry bundle of a 7-entry log (big-endian 16-bit lengths); its entries hash (SM3, 0x00 prefix) to the root", "LEDGER-19", "LEDGER-03")
	add(ledgerInput{TilePath: "tile/0/000.p/7", TileData: hashTile, Size: 7, Root: root[:]}, "VALID",
		"the partial level-0 hash tile of the same log: 7 SM3 leaf hashes giving its root", "LEDGER-19", "LEDGER-03")
	add(ledgerInput{TilePath: "tile/0/000.p/6", TileData: hashTile}, "reject:tlog.ErrBadTile", "7 hashes under a path of width 6", "LEDGER-19")
	add(ledgerInput{TilePath: "tile/entries/000.p/7", TileData: bundle[:len(bundle)-1]}, "reject:tlog.ErrBadTile", "the entry bundle with its last byte cut", "LEDGER-19")
	add(ledgerInput{TilePath: "tile/0/x001/x234/067.p/5", TileData: hashTile[:5*32]}, "VALID", "index 1234067 written in groups x001/x234/067", "LEDGER-19")
	add(ledgerInput{TilePath: "tile/0/x001/234/067.p/5", TileData: hashTile[:5*32]}, "reject:tlog.ErrBadTile", "a middle group without its x", "LEDGER-19")
	add(ledgerInput{TilePath: "tile/0/1234067", TileData: hashTile}, "reject:tlog.ErrBadTile", "index not in groups of three digits", "LEDGER-19")
	add(ledgerInput{TilePath: "tile/0/000.p/256", TileData: hashTile}, "reject:tlog.ErrBadTile", "partial width 256 (a full tile has no .p)", "LEDGER-19")
	return nil
}

func (k *kit) checkpointVectors(ctx *Context) error {
	w := k.w
	const f = "ledger.json"
	add := func(in ledgerInput, want, desc string, rules ...string) {
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	origin := ledgerOrigin(gm.KeyIDString(w.RootDER))
	cp, err := w.checkpoint()
	if err != nil {
		return err
	}
	vk := ctx.LedgerKey
	add(ledgerInput{Op: "checkpoint", Note: string(cp), VKey: vk, Origin: origin}, "VALID", "the ledger's checkpoint, signed by the ledger key",
		"LEDGER-06", "LEDGER-07", "LEDGER-08", "LEDGER-09", "LEDGER-10", "LEDGER-11", "LEDGER-13")
	add(ledgerInput{Op: "checkpoint", Note: strings.Replace(string(cp), "\n1\n", "\n2\n", 1), VKey: vk, Origin: origin}, "reject:tlog.ErrBadSignature",
		"tree size changed after signing", "LEDGER-08", "LEDGER-13")
	other, err := tlog.NewNoteSigner(origin, w.Market.signer())
	if err != nil {
		return err
	}
	byOther, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: w.Tree.Size(), Root: w.Tree.Root()}, other)
	if err != nil {
		return err
	}
	add(ledgerInput{Op: "checkpoint", Note: string(byOther), VKey: vk, Origin: origin}, "reject:tlog.ErrNoKnownSignature",
		"signed by another key under the same name (its key ID differs)", "LEDGER-11", "LEDGER-13")
	s, err := w.noteSigner()
	if err != nil {
		return err
	}
	notCP, err := tlog.SignNote(origin+"\n1\nnot base64!\n", s)
	if err != nil {
		return err
	}
	add(ledgerInput{Op: "checkpoint", Note: string(notCP), VKey: vk, Origin: origin}, "reject:tlog.ErrBadCheckpoint",
		"a signed note whose root line is not base64", "LEDGER-06")
	add(ledgerInput{Op: "checkpoint", Note: strings.Replace(string(cp), "\n\n", "\n", 1), VKey: vk, Origin: origin}, "reject:tlog.ErrMalformedNote",
		"no blank line between text and signatures", "LEDGER-07")
	add(ledgerInput{Op: "checkpoint", Note: string(cp), VKey: vk, Origin: "elicense.local/ledger/other"}, "reject:tlog.ErrBadCheckpoint",
		"origin other than expected", "LEDGER-06", "LEDGER-09")
	add(ledgerInput{Op: "vkey", VKey: vk}, "VALID", "the ledger key's verifier key string", "LEDGER-12", "LEDGER-11", "LEDGER-10")
	name, rest, _ := strings.Cut(vk, "+")
	id, key, _ := strings.Cut(rest, "+")
	add(ledgerInput{Op: "vkey", VKey: name + "+00000000+" + key}, "reject:tlog.ErrBadKey", "key ID that is not the key's", "LEDGER-12", "LEDGER-11")
	add(ledgerInput{Op: "vkey", VKey: "a b+" + id + "+" + key}, "reject:tlog.ErrBadKey", "a key name with a space", "LEDGER-09", "LEDGER-12")
	if strings.Count(key, "+") == 0 || strings.ToUpper(id) == id {
		return fmt.Errorf("conformance: the ledger's verifier key %q no longer has a '+' in its base64 and a letter in its ID", vk)
	}
	add(ledgerInput{Op: "vkey", VKey: name + "+" + strings.ToUpper(id) + "+" + key}, "VALID",
		"the verifier key with its key ID in upper-case hex (its base64 holds a '+': split at the first two)", "LEDGER-12")
	return k.noteFormVectors(cp, vk, origin)
}

// noteFormVectors break one rule of the checkpoint or note form each, in
// a note whose signature verifies.
func (k *kit) noteFormVectors(cp []byte, vk, origin string) error {
	s, err := k.w.noteSigner()
	if err != nil {
		return err
	}
	c, err := tlog.ParseCheckpoint(string(cp[:bytes.Index(cp, []byte("\n\n"))+1]))
	if err != nil {
		return err
	}
	zero, err := tlog.SignNote(fmt.Sprintf("%s\n0%d\n%s\n", origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:])), s)
	if err != nil {
		return err
	}
	k.add("ledger.json", Vector{Rules: []string{"LEDGER-06"}, Description: "a signed checkpoint whose size has a leading zero",
		Input: ledgerInput{Op: "checkpoint", Note: string(zero), VKey: vk, Origin: origin}, Expected: "reject:tlog.ErrBadCheckpoint"})
	// The signature line's base64 holds 68 bytes: its last group is
	// "xyz=", and z's two low bits are padding, zero when canonical.
	note := string(cp)
	i := strings.LastIndex(note, "=\n")
	z := strings.IndexByte(b64Alphabet, note[i-1])
	if i < 0 || z < 0 || z&3 != 0 {
		return fmt.Errorf("conformance: the checkpoint's signature line is not 68 bytes of base64")
	}
	nc := note[:i-1] + string(b64Alphabet[z|1]) + note[i:]
	k.add("ledger.json", Vector{Rules: []string{"LEDGER-07"}, Description: "the signature line's base64 with a padding bit set (decodes to the same bytes, not canonical)",
		Input: ledgerInput{Op: "checkpoint", Note: nc, VKey: vk, Origin: origin}, Expected: "reject:tlog.ErrMalformedNote"})
	return nil
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func hashes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

func (k *kit) proofVectors() error {
	const f = "ledger.json"
	add := func(in ledgerInput, want, desc string, rules ...string) {
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	tree := tlog.NewMemTree(tlog.SM3)
	for i := range 7 {
		tree.AppendEntry(fmt.Appendf(nil, "entry %d", i))
	}
	leaf := tlog.SM3.HashLeaf([]byte("entry 3"))
	root := tree.Root()
	proof, err := tree.InclusionProof(3, 7)
	if err != nil {
		return err
	}
	incl := ledgerInput{Op: "inclusion", LeafHash: leaf[:], Index: 3, Size: 7, Root: root[:], Proof: hashes(proof)}
	add(incl, "VALID", "inclusion of entry 3 (\"entry 3\") in a tree of 7 (SM3 leaves and nodes)", "LEDGER-03", "LEDGER-04", "EVENT-07")
	bad := incl
	bad.Proof = hashes(proof)
	bad.Proof[1] = append([]byte(nil), bad.Proof[1]...)
	bad.Proof[1][0] ^= 1
	add(bad, "reject:tlog.ErrInclusionProof", "a proof hash with one bit flipped (a wallet refuses its entry)", "LEDGER-04", "EVENT-07")
	wrong := incl
	wrong.Index = 2
	add(wrong, "reject:tlog.ErrInclusionProof", "the proof for index 3 offered for index 2", "LEDGER-04")
	past := incl
	past.Index = 7
	add(past, "reject:tlog.ErrInclusionProof", "index 7 in a tree of 7", "LEDGER-02", "LEDGER-04")
	short := incl
	short.Proof = short.Proof[:len(short.Proof)-1]
	add(short, "reject:tlog.ErrInclusionProof", "the proof one hash short (the last hash removed)", "LEDGER-04")
	long := incl
	long.Proof = append(hashes(proof), root[:])
	add(long, "reject:tlog.ErrInclusionProof", "the proof one hash long (the root appended)", "LEDGER-04")
	// An interior node offered as a leaf: the proof of leaf 6 without
	// its first hash reaches the root from node(leaves 4–5, leaf 6), so
	// only the proof's length (LEDGER-04) refuses it.
	p6, err := tree.InclusionProof(6, 7)
	if err != nil {
		return err
	}
	if len(p6) != 2 {
		return fmt.Errorf("conformance: the proof of leaf 6 of 7 has %d hashes", len(p6))
	}
	inner := tlog.SM3.HashChildren(p6[0], tlog.SM3.HashLeaf([]byte("entry 6")))
	add(ledgerInput{Op: "inclusion", LeafHash: inner[:], Index: 6, Size: 7, Root: root[:], Proof: hashes(p6[1:])}, "reject:tlog.ErrInclusionProof",
		"the interior node over leaves 4–6 offered as leaf 6 with the rest of leaf 6's proof: it reaches the root, one hash short", "LEDGER-04")
	sha := incl
	sha.LeafHash = func() []byte { h := gm.SM3([]byte("entry 3")); return h[:] }()
	add(sha, "reject:tlog.ErrInclusionProof", "leaf hash SM3(entry) without the 0x00 prefix", "LEDGER-03")
	r3, err := tree.RootAt(3)
	if err != nil {
		return err
	}
	cons, err := tree.ConsistencyProof(3, 7)
	if err != nil {
		return err
	}
	c := ledgerInput{Op: "consistency", Size1: 3, Size2: 7, Root1: r3[:], Root2: root[:], Proof: hashes(cons)}
	add(c, "VALID", "consistency of the tree of 3 with the tree of 7", "LEDGER-05", "LEDGER-14", "LEDGER-19")
	cb := c
	cb.Root1 = append([]byte(nil), r3[:]...)
	cb.Root1[0] ^= 1
	add(cb, "reject:tlog.ErrConsistency", "old root with one bit flipped", "LEDGER-05", "LEDGER-14")
	// A fork: a tree of 7 whose entry 5 differs, offered as the successor.
	fork := tlog.NewMemTree(tlog.SM3)
	for i := range 7 {
		e := fmt.Appendf(nil, "entry %d", i)
		if i == 5 {
			e = []byte("entry 5, rewritten")
		}
		fork.AppendEntry(e)
	}
	froot := fork.Root()
	fp, err := fork.ConsistencyProof(3, 7)
	if err != nil {
		return err
	}
	add(ledgerInput{Op: "consistency", Size1: 3, Size2: 7, Root1: r3[:], Root2: root[:], Proof: hashes(fp)}, "reject:tlog.ErrConsistency",
		"inconsistent checkpoints: the fork's consistency proof offered for the log's tree of 7", "LEDGER-05", "LEDGER-14")
	add(ledgerInput{Op: "consistency", Size1: 3, Size2: 7, Root1: r3[:], Root2: froot[:], Proof: hashes(cons)}, "reject:tlog.ErrConsistency",
		"inconsistent checkpoints: the log's proof offered for the fork's root", "LEDGER-05", "LEDGER-14")
	return nil
}

func (k *kit) eventVectors() error {
	const f = "ledger.json"
	add := func(in ledgerInput, want, desc string, rules ...string) {
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	var salt [ledgerevent.SaltSize]byte
	for i := range salt {
		salt[i] = byte(i)
	}
	ev := &ledgerevent.Issue{Time: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), Agency: codeMarket,
		ID:       "1.2.156.3005.2.11310000PDY00001XQ001." + codeMarket + ".T000001.001.X",
		Operator: ledgerevent.Commit(salt, []byte("clerk-zhang"))}
	ev.Credential[0] = 1
	entry, err := ledgerevent.Encode(ev)
	if err != nil {
		return err
	}
	add(ledgerInput{Op: "event", Entry: entry}, "VALID", "an issue event (format 2), its operator commitment opened",
		"EVENT-01", "EVENT-02", "EVENT-03", "EVENT-04", "LEDGER-01", "VER-05")
	add(ledgerInput{Op: "event", Entry: entry, OpenField: "operator", OpenSalt: salt[:], OpenValue: "clerk-zhang"}, "VALID",
		"the issue event's operator commitment opened with its salt and value", "EVENT-05")
	add(ledgerInput{Op: "event", Entry: entry, OpenField: "operator", OpenSalt: salt[:], OpenValue: "clerk-li"}, "reject:ledgerevent.ErrOpening",
		"an opening with another value", "EVENT-05")
	add(ledgerInput{Op: "event", Entry: append(append([]byte(nil), entry...), 0)}, "reject:ledgerevent.ErrMalformed", "a byte after the last field", "EVENT-03", "EVENT-01")
	add(ledgerInput{Op: "event", Entry: append([]byte{0x03}, entry[1:]...)}, "reject:ledgerevent.ErrMalformed", "format 3", "EVENT-03", "VER-05")
	add(ledgerInput{Op: "event", Entry: append([]byte{0x02, 0xee}, entry[2:]...)}, "reject:ledgerevent.ErrMalformed", "unknown kind 0xee", "EVENT-03")
	add(ledgerInput{Op: "event", Entry: entry[:len(entry)-5]}, "reject:ledgerevent.ErrMalformed", "truncated commitment", "EVENT-02")
	add(ledgerInput{Op: "event", Entry: []byte{}}, "reject:ledgerevent.ErrMalformed", "an empty entry", "LEDGER-01")
	add(ledgerInput{Op: "event", Entry: entry, OpenField: "device", OpenSalt: salt[:], OpenValue: "clerk-zhang"}, "reject:ledgerevent.ErrNoField",
		"an opening of device, a commitment an issue event does not have", "EVENT-10")
	return k.eventKindVectors()
}

package main

import (
	"bytes"
	"context"
	be "encoding/binary"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/issuer/pki"
	"elicense/issuer/state"
	"elicense/issuer/state/boltstate"
)

// TestMigrateLedger builds a format-1 data directory holding known
// personal data in its ledger (operator names, a seal holder's resident
// ID, a device key), runs elicense migrate-ledger, and checks the new
// directory: the old one unchanged, the new ledger verifies and holds
// only format-2 entries, serve starts on it, every licence and copy reads
// back with its identifier and status, and no unauthenticated ledger
// entry shows any of the personal data.
func TestMigrateLedger(t *testing.T) {
	dir := t.TempDir()
	src, old, dst := filepath.Join(dir, "v2"), filepath.Join(dir, "old"), filepath.Join(dir, "new")

	// The events, with personal data, through a real server; then the
	// same state with a format-1 ledger, as a release before format 2
	// wrote it.
	p := &privacyRun{data: src, s: startServer(t, src)}
	p.admin = readToken(t, src)
	p.samples = loadSamples(t)
	p.issueAll(t)
	p.claimDevice(t)
	p.makeSeal(t)
	p.changeStatus(t)
	p.rotateKey(t)
	p.s.stop(t)
	want := writeFormat1(t, src, old, p.personal)

	// A run that died left its work directory.
	if err := os.MkdirAll(dst+".migrating", 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dst+".migrating", migratingMark), nil, 0o600)
	os.WriteFile(filepath.Join(dst+".migrating", "ledger.db"), []byte("half"), 0o600)

	before := tree(t, old)
	r := elicense(t, nil, "migrate-ledger", "--from", old, "--to", dst)
	r.want(t, exitOK)
	t.Log(r.stdout)
	for _, s := range []string{"OK elicense.local/ledger/", "/2: ", "licences", "seals made", "done: " + dst} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("migrate-ledger output lacks %q:\n%s", s, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "DIFFERS") {
		t.Errorf("counts differ:\n%s", r.stdout)
	}
	if _, err := os.Stat(dst + ".migrating"); !os.IsNotExist(err) {
		t.Errorf("work directory left behind: %v", err)
	}
	after := tree(t, old)
	if len(after) != len(before) {
		t.Errorf("the old directory changed: %d files, then %d", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("migrate-ledger changed %s", k)
		}
	}
	// NEW is not empty now: a second run refuses it.
	r2 := elicense(t, nil, "migrate-ledger", "--from", old, "--to", dst)
	if r2.code != exitFail || !strings.Contains(r2.stderr, "not empty") {
		t.Errorf("second run: %d %s", r2.code, r2.stderr)
	}
	elicense(t, nil, "ledger", "verify", "--data", dst).want(t, exitOK)

	s := startServer(t, dst)
	p.s, p.admin = s, readToken(t, dst)
	checkMigrated(t, p, newCopyIDs(t, dst, want))
	s.stop(t)

	// The old directory is what the server refuses (checked last: serve
	// writes a token key into a directory it starts on).
	rs := elicense(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", old)
	if rs.code == exitOK || !strings.Contains(rs.stderr, "format-1") {
		t.Errorf("serve on the format-1 directory: %d %s", rs.code, rs.stderr)
	}
}

// checkMigrated reads every licence and copy back from the server on
// the migrated data, and scans every ledger entry.
func checkMigrated(t *testing.T, p *privacyRun, want map[string]state.Status) {
	for id, st := range want {
		var rec struct {
			ID     string       `json:"id"`
			Status state.Status `json:"status"`
		}
		if code := p.s.call(t, "GET", "/v1/licences/"+url.PathEscape(id), p.admin, nil, &rec); code != 200 || rec.ID != id || rec.Status != st {
			t.Errorf("licence %s: %d %s %s, want %s", id, code, rec.ID, rec.Status, st)
		}
	}
	var ready struct {
		Size uint64 `json:"ledger_size"`
	}
	p.s.call(t, "GET", "/readyz", "", nil, &ready)
	if ready.Size < uint64(len(want)) {
		t.Fatalf("the new ledger has %d entries for %d licences and copies", ready.Size, len(want))
	}
	kinds := map[ledgerevent.Kind]int{}
	for i := range ready.Size {
		var body []byte
		path := fmt.Sprintf("/v1/ledger/entries/%d", i)
		if code := p.s.call(t, "GET", path, "", nil, &body); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		if found := findPersonal(body, p.personal); found != "" {
			t.Errorf("GET %s publishes personal data: %s", path, found)
		}
		var e struct {
			Raw []byte `json:"raw"`
		}
		p.s.call(t, "GET", path, "", nil, &e)
		ev, err := ledgerevent.Decode(e.Raw)
		if err != nil || e.Raw[0] != 2 {
			t.Fatalf("entry %d: not format 2: %v", i, err)
		}
		kinds[ev.Kind()]++
		// Every commitment opens, to the values the migration recorded.
		for _, f := range ledgerevent.CommittedFields(ev) {
			p.openField(t, i, ev, f)
		}
	}
	for _, k := range []ledgerevent.Kind{ledgerevent.KindIssue, ledgerevent.KindReissue, ledgerevent.KindStatus, ledgerevent.KindUnbind, ledgerevent.KindClaim,
		ledgerevent.KindSealMade, ledgerevent.KindSealRevoked, ledgerevent.KindKeyRotated} {
		if kinds[k] == 0 {
			t.Errorf("no %s event in the migrated ledger (%v)", k, kinds)
		}
	}
}

// writeFormat1 writes into dst the data directory a release before
// format 2 would have left after the events src's ledger records: src's
// PKI and state, and a ledger of format-1 entries (no entry-format mark)
// carrying the operators' subjects, the seal holder's code and the
// device key in the clear, and a copy's identifier derived from the
// device key alone. It returns the status of every licence and copy
// (under the identifiers a migration gives them) and checks that the
// old entries do hold personal data.
func writeFormat1(t *testing.T, src, dst string, personal [][]byte) map[string]state.Status {
	t.Helper()
	ctx := context.Background()
	if err := copyTree(filepath.Join(src, "pki"), filepath.Join(dst, "pki")); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(filepath.Join(src, "passphrase"), filepath.Join(dst, "passphrase")); err != nil {
		t.Fatal(err)
	}
	pw, err := passphrase(&env{lookupEnv: func(string) (string, bool) { return "", false }}, dataDir(dst), "")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := pki.Load(filepath.Join(dst, "pki"), pw)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := boltstate.Open(filepath.Join(src, "ledger.db"), boltstate.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	db, err := boltstate.Open(filepath.Join(dst, "ledger.db"), boltstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lg, err := ledger.Open(db.Ledger(), ledger.Options{Origin: ledgerOrigin(pk.Manifest.Root.KeyID), Signer: pk.Ledger.Signer})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	for _, ag := range pk.Agencies {
		if der, err := sb.AgencySeal(ag.Code); err == nil {
			db.PutAgencySeal(ag.Code, der)
		}
	}
	want := map[string]state.Status{}
	sb.ForEach(func(r *state.Record) error {
		if r.CopyOf != "" {
			// A copy's new identifier is keyed under NEW's audit key:
			// newCopyIDs fills it in after the migration.
			want[copyKey+r.CopyOf+"|"+r.Device] = r.Status
			return nil
		}
		want[r.ID] = r.Status
		return nil
	})

	w := &v1Writer{t: t, src: sb, dst: db, lg: lg}
	st, _ := sb.Ledger().State(ctx)
	for i := range st.Size {
		var b []byte
		err := sb.Ledger().Entries(ctx, i, i+1, func(_ uint64, e []byte) error { b = e; return nil })
		if err != nil {
			t.Fatal(err)
		}
		ev, err := ledgerevent.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		audit, _ := sb.Audit(i)
		w.event(ev, audit)
	}
	var found bool
	db.Ledger().Entries(ctx, 0, lg.Size(), func(_ uint64, e []byte) error {
		found = found || findPersonal(e, personal) != ""
		return nil
	})
	if !found {
		t.Fatal("the format-1 ledger holds no personal data: the test cannot fail")
	}
	return want
}

// v1Writer appends format-1 entries with the state's rows.
type v1Writer struct {
	t        *testing.T
	src, dst *boltstate.Store
	lg       *ledger.Log[state.Tx]
}

// event writes the format-1 entries of format-2 event ev, with the
// personal values audit it committed to.
func (w *v1Writer) event(ev ledgerevent.Event, audit map[string]string) {
	op := audit[ledgerevent.FieldOperator]
	if op == "" {
		op = "elicense key rotate"
	}
	h := ev.Head()
	switch e := ev.(type) {
	case *ledgerevent.Issue:
		w.append(w.insert(e.ID, ""), v1(1, h.Time, e.Credential, 0, 1, h.Agency, e.ID, "", op, nil))
	case *ledgerevent.Claim:
		c := w.get(e.ID)
		dev, _ := hex.DecodeString(c.Device)
		sum := gm.SM3(dev)
		oldID := c.CopyOf + "#" + hex.EncodeToString(sum[:8])
		w.append(w.insert(e.ID, oldID), v1(1, h.Time, e.Credential, 0, 1, h.Agency, oldID, "", "holder-claim", []byte("device:"+c.Device)))
	case *ledgerevent.Reissue:
		w.append(w.insert(e.ID, ""), v1(2, h.Time, e.Credential, 0, 1, h.Agency, e.ID, "变更", op, []byte(e.Supersedes)),
			v1(5, h.Time, e.Superseded, byte(e.From), 3, h.Agency, e.Supersedes, "变更", op, []byte(e.ID)))
	case *ledgerevent.StatusChange:
		typ := map[ledgerevent.Status]byte{ledgerevent.StatusSuspended: 3, ledgerevent.StatusValid: 4, ledgerevent.StatusRevoked: 5}[e.To]
		w.append(nil, v1(typ, h.Time, e.Credential, byte(e.From), byte(e.To), h.Agency, e.ID, e.Reason, op, nil))
	case *ledgerevent.Unbind:
		c := w.get(e.ID)
		dev, _ := hex.DecodeString(c.Device)
		sum := gm.SM3(dev)
		w.append(nil, v1(5, h.Time, e.Credential, byte(e.From), 3, h.Agency, c.CopyOf+"#"+hex.EncodeToString(sum[:8]), e.Reason, op, []byte("unbind")))
	case *ledgerevent.SealMade:
		rec, err := w.src.Seal(e.ESID)
		if err != nil {
			w.t.Fatal(err)
		}
		r := state.SealRecord{ESID: rec.ESID, Agency: rec.Agency, HolderCode: rec.HolderCode, MadeAt: rec.MadeAt}
		w.append(func(tx state.Tx, i uint64) error { r.LedgerIndex = i; return tx.PutSeal(r) },
			v1(6, h.Time, e.Seal, 0, 1, h.Agency, e.ESID, "", op, []byte(audit[ledgerevent.FieldHolderCode])))
	case *ledgerevent.SealRevoked:
		w.append(func(tx state.Tx, i uint64) error { return tx.RevokeSeal(e.ESID, e.Time, e.Reason, i) },
			v1(7, h.Time, ledgerevent.Digest{}, 1, 3, h.Agency, e.ESID, e.Reason, op, nil))
	case *ledgerevent.KeyRotated:
		w.append(nil, v1(9, h.Time, ledgerevent.Digest{}, 0, 1, h.Agency, e.KeyID, "", op, []byte(e.Previous)))
	case *ledgerevent.KeyCompromised:
		w.append(nil, v1(11, h.Time, e.Genuine, 1, 3, h.Agency, e.KeyID, "", op, nil))
	}
}

func (w *v1Writer) get(id string) *state.Record {
	r, err := w.src.Get(id)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// insert returns the state's side of issuing licence id as src holds
// it now, under identifier as if not empty.
func (w *v1Writer) insert(id, as string) func(state.Tx, uint64) error {
	r := w.get(id)
	if as != "" {
		r.ID = as
	}
	r.Copies = nil // each copy's issuance adds it
	p, err := w.dst.Prepare(r, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return func(tx state.Tx, i uint64) error { return tx.Insert(p, i) }
}

func (w *v1Writer) append(fn func(state.Tx, uint64) error, es ...[]byte) {
	if fn == nil {
		fn = func(state.Tx, uint64) error { return nil }
	}
	if _, err := w.lg.AppendWith(context.Background(), es, fn); err != nil {
		w.t.Fatal(err)
	}
}

// v1 encodes a format-1 entry: version 1, type, time (Unix ns), SM3 of
// the subject, statuses from and to, then agency, identifier, reason,
// operator and extra, each with a uint16 length.
func v1(typ byte, at time.Time, sum [32]byte, from, to byte, agency, id, reason, op string, extra []byte) []byte {
	b := []byte{1, typ}
	b = be.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
	b = append(append(b, sum[:]...), from, to)
	for _, f := range [][]byte{[]byte(agency), []byte(id), []byte(reason), []byte(op), extra} {
		b = be.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

func TestEpochOrigin(t *testing.T) {
	const base = "elicense.local/ledger/abcd"
	for _, tc := range []struct {
		recorded, want, next string
		ok                   bool
	}{
		{"", base, base + "/2", true},
		{base, base, base + "/2", true},
		{base + "/2", base + "/2", base + "/3", true},
		{base + "/10", base + "/10", base + "/11", true},
		{base + "/1", "", "", false},
		{base + "/02", "", "", false},
		{base + "/x", "", "", false},
		{base + "x/2", "", "", false},
		{"elicense.local/ledger/other", "", "", false},
	} {
		got, err := epochOrigin(base, tc.recorded)
		next, nerr := nextOrigin(base, tc.recorded)
		if (err == nil) != tc.ok || (nerr == nil) != tc.ok || got != tc.want || next != tc.next {
			t.Errorf("%q: %q %v, next %q %v", tc.recorded, got, err, next, nerr)
		}
	}
}

// copyKey marks a wanted copy by its parent and device until its new
// identifier is known.
const copyKey = "copy|"

// newCopyIDs replaces each copy's placeholder in want with the identifier
// the migration gave it: the parent's ID and a tag keyed under NEW's audit
// key (ledgerevent.AuditKey.CopyTag).
func newCopyIDs(t *testing.T, dst string, want map[string]state.Status) map[string]state.Status {
	t.Helper()
	pw, err := os.ReadFile(filepath.Join(dst, "passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dst, "audit.key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := gm.ParsePrivateKeyPEM(data, bytes.TrimSpace(pw))
	if err != nil {
		t.Fatal(err)
	}
	audit, err := ledgerevent.NewAuditKey(k.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]state.Status{}
	for id, st := range want {
		rest, ok := strings.CutPrefix(id, copyKey)
		if !ok {
			out[id] = st
			continue
		}
		parent, devHex, _ := strings.Cut(rest, "|")
		dev, err := hex.DecodeString(devHex)
		if err != nil {
			t.Fatal(err)
		}
		tag := audit.CopyTag(parent, dev)
		out[parent+"#"+hex.EncodeToString(tag[:])] = st
	}
	return out
}

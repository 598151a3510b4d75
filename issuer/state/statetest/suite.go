package statetest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"elicense/certs/qr"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/issuer/state"
)

// Opener opens (or reopens) a backend whose data lives under dir: two
// calls with the same dir must reach the same data, as a restarted
// server would.
type Opener func(t testing.TB, dir string) state.Backend

// Run runs the conformance suite against the backend open makes. Every
// subtest starts from an empty backend in a directory of its own.
func Run(t *testing.T, open Opener) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"CommitWithEntries", testCommitWithEntries},
		{"FailingChangeRollsBackAlone", testFailingChangeAlone},
		{"DurableAfterReopen", testDurableAfterReopen},
		{"OrderingAndCopies", testOrderingAndCopies},
		{"WatermarkAndReplay", testWatermarkAndReplay},
		{"SearchAndPaging", testSearchAndPaging},
		{"ImportKeys", testImportKeys},
		{"Claims", testClaims},
		{"Seals", testSeals},
		{"AuditRecords", testAudit},
		{"TokensAndSnapshot", testTokensAndSnapshot},
		{"LedgerStoreConflict", testLedgerConflict},
		{"RetiredKeys", testRetiredKeys},
		{"RelyingParties", testRelyingParties},
		{"Requests", testRequests},
		{"Grants", testGrants},
		{"GrantRaces", testGrantRaces},
		{"FetchChecks", testFetchChecks},
		{"GrantKeys", testGrantKeys},
		{"Receipts", testReceipts},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, open)
			defer f.close()
			c.fn(t, f)
		})
	}
}

// fixture is a backend and the ledger opened on it.
type fixture struct {
	t    testing.TB
	open Opener
	dir  string
	key  *gm.PrivateKey
	b    state.Backend
	l    *ledger.Log[state.Tx]
}

func newFixture(t testing.TB, open Opener) *fixture {
	key, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, open: open, dir: t.TempDir(), key: key}
	f.start()
	return f
}

func (f *fixture) start() {
	f.t.Helper()
	f.b = f.open(f.t, f.dir)
	l, err := ledger.Open(f.b.Ledger(), ledger.Options{Origin: "statetest/ledger", Signer: f.key, EntryFormat: "statetest 1"})
	if err != nil {
		f.b.Close()
		f.t.Fatal(err)
	}
	f.l = l
}

func (f *fixture) close() {
	if f.l == nil {
		return
	}
	if err := errors.Join(f.l.Close(), f.b.Close()); err != nil {
		f.t.Error(err)
	}
	f.l, f.b = nil, nil
}

// reopen closes the ledger and the backend and opens both again.
func (f *fixture) reopen() {
	f.t.Helper()
	f.close()
	f.start()
}

// change appends n entries (named by what) with fn as their state change.
func (f *fixture) change(what string, n int, fn func(tx state.Tx, first uint64) error) (uint64, error) {
	es := make([][]byte, n)
	for i := range es {
		es[i] = fmt.Appendf(nil, "%s/%d", what, i)
	}
	return f.l.AppendWith(context.Background(), es, fn)
}

// insert issues r (with claim c, if not nil) by one ledger entry.
func (f *fixture) insert(r *state.Record, c *state.Claim) (uint64, error) {
	p, err := f.b.Prepare(r, c)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.change("issue "+r.ID, 1, func(tx state.Tx, first uint64) error { return tx.Insert(p, first) })
}

func (f *fixture) mustInsert(r *state.Record, c *state.Claim) uint64 {
	f.t.Helper()
	i, err := f.insert(r, c)
	if err != nil {
		f.t.Fatalf("insert %s: %v", r.ID, err)
	}
	return i
}

// applyChange records change c by one ledger entry and returns its index.
func (f *fixture) applyChange(c state.Change) uint64 {
	f.t.Helper()
	i, err := f.change("change "+c.ID, 1, func(tx state.Tx, first uint64) error {
		c.LedgerIndex = first
		return tx.Apply(c)
	})
	if err != nil {
		f.t.Fatalf("change %s: %v", c.ID, err)
	}
	return i
}

func (f *fixture) get(id string) *state.Record {
	f.t.Helper()
	r, err := f.b.Get(id)
	if err != nil {
		f.t.Fatalf("get %s: %v", id, err)
	}
	return r
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// newRecord is a licence row as the service makes one. Its status
// position is the identifier's, as the service's are unique (a shared
// backend refuses a taken one).
func newRecord(id, holder, class, agency string) *state.Record {
	sum := gm.SM3([]byte(id))
	return &state.Record{
		ID: id, Class: class, Agency: agency, HolderCode: holder, HolderName: "name of " + holder,
		Fields: map[string]string{"name": "name of " + holder, "n": id}, Status: state.StatusValid,
		StatusList: agency + "-1", StatusIndex: uint64(sum[0])<<16 | uint64(sum[1])<<8 | uint64(sum[2]), Credential: "eyJhbGciOiJTTTJTTTMifQ.eyJpZCI6IjEifQ.c2ln-" + id,
		CredentialHash: fmt.Sprintf("%x", sum), IssuedAt: t0, UpdatedAt: t0, IssuedOn: "2026-03-01",
	}
}

func testCommitWithEntries(t *testing.T, f *fixture) {
	r := newRecord("A-1", "H1", "c1", "A")
	i := f.mustInsert(r, nil)
	if r.LedgerIndex != i || r.LastEvent != i+1 {
		t.Fatalf("Insert set LedgerIndex %d, LastEvent %d; the entry is %d", r.LedgerIndex, r.LastEvent, i)
	}
	got := f.get(r.ID)
	if got.LedgerIndex != i || got.LastEvent != i+1 || got.Credential != r.Credential || got.HolderCode != "H1" || got.Fields["n"] != r.ID || !got.IssuedAt.Equal(t0) {
		t.Fatalf("read back %+v", got)
	}
	if e, err := f.l.Entry(i); err != nil || string(e) != "issue A-1/0" {
		t.Fatalf("ledger entry %d: %q %v", i, e, err)
	}
	if w, err := f.b.Watermark(); err != nil || w != i+1 {
		t.Fatalf("watermark %d %v, want %d", w, err, i+1)
	}
	// Two entries, one change: the change sees the first index.
	j, err := f.change("two", 2, func(tx state.Tx, first uint64) error {
		return tx.Apply(state.Change{ID: r.ID, Status: state.StatusSuspended, Reason: "核查", At: t0, LedgerIndex: first + 1})
	})
	if err != nil || j != i+1 || f.l.Size() != i+3 {
		t.Fatalf("two entries at %d (%v), ledger size %d", j, err, f.l.Size())
	}
	if got := f.get(r.ID); got.Status != state.StatusSuspended || got.LastEvent != j+2 {
		t.Fatalf("after the change: %s, last event %d", got.Status, got.LastEvent)
	}
	if w, _ := f.b.Watermark(); w != j+2 {
		t.Fatalf("watermark %d after the change at %d", w, j+1)
	}
}

// testFailingChangeAlone: callers append concurrently, so that the
// ledger batches them; the changes that fail (an identifier taken, or an
// error after writes) leave no entry and no write, and every other one
// commits.
func testFailingChangeAlone(t *testing.T, f *fixture) {
	f.mustInsert(newRecord("A-0", "H", "c1", "A"), nil)
	before := f.l.Size()
	boom := errors.New("boom")
	const n = 48
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			switch {
			case i%8 == 3: // the identifier is taken
				_, errs[i] = f.insert(newRecord("A-0", "H", "c1", "A"), nil)
			case i%8 == 5: // writes, then fails
				r := newRecord(fmt.Sprintf("F-%02d", i), "H", "c1", "A")
				p, err := f.b.Prepare(r, nil)
				if err != nil {
					errs[i] = err
					return
				}
				_, errs[i] = f.change("fail", 2, func(tx state.Tx, first uint64) error {
					if err := tx.Insert(p, first); err != nil {
						return err
					}
					if err := tx.PutAudit(first, map[string]string{"operator": "x"}); err != nil {
						return err
					}
					return boom
				})
			default:
				_, errs[i] = f.insert(newRecord(fmt.Sprintf("B-%02d", i), "H", "c1", "A"), nil)
			}
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, err := range errs {
		var ae *ledger.ApplyError
		var re *ledger.RejectedError // a shared backend may find it at the commit
		switch {
		case i%8 == 3:
			if !errors.Is(err, state.ErrExists) || !errors.As(err, &ae) && !errors.As(err, &re) {
				t.Errorf("caller %d, identifier taken: %v", i, err)
			}
		case i%8 == 5:
			if !errors.Is(err, boom) || !errors.As(err, &ae) {
				t.Errorf("caller %d, failing change: %v", i, err)
			}
			if _, err := f.b.Get(fmt.Sprintf("F-%02d", i)); !errors.Is(err, state.ErrNotFound) {
				t.Errorf("caller %d: the failed change's licence is visible: %v", i, err)
			}
		default:
			if err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
			ok++
			if r, err := f.b.Get(fmt.Sprintf("B-%02d", i)); err != nil {
				t.Errorf("caller %d: %v", i, err)
			} else if e, _ := f.l.Entry(r.LedgerIndex); !bytes.HasPrefix(e, []byte("issue "+r.ID)) {
				t.Errorf("caller %d: licence at ledger index %d, which holds %q", i, r.LedgerIndex, e)
			}
		}
	}
	if got := f.l.Size() - before; got != uint64(ok) {
		t.Fatalf("the ledger gained %d entries for %d successful issuances", got, ok)
	}
	for i := before; i < f.l.Size(); i++ {
		if _, err := f.b.Audit(i); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("an audit record of a failed change is at %d: %v", i, err)
		}
	}
	recs := searchAll(t, f.b, state.Query{Agency: "A", Limit: 1000})
	if len(recs) != ok+1 {
		t.Fatalf("%d licences listed, want %d", len(recs), ok+1)
	}
	if w, _ := f.b.Watermark(); w != f.l.Size() {
		t.Fatalf("watermark %d, ledger size %d", w, f.l.Size())
	}
}

func testDurableAfterReopen(t *testing.T, f *fixture) {
	r := newRecord("A-1", "H1", "c1", "A")
	c := &state.Claim{LicenceID: r.ID, Expires: t0.Add(time.Hour), Salt: []byte{1}, Verifier: []byte{2}}
	f.mustInsert(r, c)
	ci := f.applyChange(state.Change{ID: r.ID, Status: state.StatusRevoked, Reason: "注销", At: t0.Add(time.Minute)})
	si, err := f.change("seal", 1, func(tx state.Tx, first uint64) error {
		if err := tx.PutSeal(state.SealRecord{ESID: "S-1", Agency: "A", HolderCode: "H1", MadeAt: t0, LedgerIndex: first}); err != nil {
			return err
		}
		return tx.PutAudit(first, map[string]string{"holder_code": "H1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	size := f.l.Size()
	f.reopen()
	if f.l.Size() != size {
		t.Fatalf("ledger size %d after reopen, was %d", f.l.Size(), size)
	}
	got := f.get(r.ID)
	if got.Status != state.StatusRevoked || got.Reason != "注销" || got.LastEvent != ci+1 || got.Credential != r.Credential {
		t.Fatalf("after reopen: %+v", got)
	}
	if s, err := f.b.Seal("S-1"); err != nil || s.LedgerIndex != si || s.HolderCode != "H1" {
		t.Fatalf("seal after reopen: %+v %v", s, err)
	}
	if a, err := f.b.Audit(si); err != nil || a["holder_code"] != "H1" {
		t.Fatalf("audit after reopen: %v %v", a, err)
	}
	if w, _ := f.b.Watermark(); w != size {
		t.Fatalf("watermark %d after reopen, ledger size %d", w, size)
	}
	if _, err := f.b.UseClaim(c.Ticket, func(state.Claim) bool { return true }); err != nil {
		t.Fatalf("claim ticket %d after reopen: %v", c.Ticket, err)
	}
}

func testOrderingAndCopies(t *testing.T, f *fixture) {
	p := newRecord("A-1", "H1", "c1", "A")
	f.mustInsert(p, nil)
	var copies []string
	for _, dev := range []string{"d1", "d2"} {
		cp := newRecord("A-1#"+dev, "H1", "c1", "A")
		cp.CopyOf, cp.Device = p.ID, dev
		f.mustInsert(cp, nil)
		copies = append(copies, cp.ID)
	}
	if got := f.get(p.ID); !slices.Equal(got.Copies, copies) {
		t.Fatalf("copies %v, want %v", got.Copies, copies)
	}
	// One copy unbound on its own; then the licence is suspended: the
	// other copy follows, the unbound one does not.
	f.applyChange(state.Change{ID: copies[0], Status: state.StatusRevoked, Reason: "遗失", At: t0, Unbind: true})
	si := f.applyChange(state.Change{ID: p.ID, Status: state.StatusSuspended, Reason: "核查", At: t0})
	for id, want := range map[string]state.Status{p.ID: state.StatusSuspended, copies[0]: state.StatusRevoked, copies[1]: state.StatusSuspended} {
		if got := f.get(id); got.Status != want {
			t.Errorf("%s is %s, want %s", id, got.Status, want)
		}
	}
	if !f.get(copies[0]).Unbound {
		t.Error("the unbound copy is not marked")
	}
	// An older event replayed does not overwrite a newer one; the same
	// event twice is harmless.
	if err := f.b.Apply(state.Change{ID: p.ID, Status: state.StatusValid, At: t0, LedgerIndex: si - 1}); err != nil {
		t.Fatal(err)
	}
	if err := f.b.Apply(state.Change{ID: p.ID, Status: state.StatusSuspended, Reason: "核查", At: t0, LedgerIndex: si}); err != nil {
		t.Fatal(err)
	}
	if got := f.get(p.ID); got.Status != state.StatusSuspended || got.LastEvent != si+1 {
		t.Fatalf("after replaying older and equal events: %s, last event %d", got.Status, got.LastEvent)
	}
	if _, err := f.change("x", 1, func(tx state.Tx, first uint64) error {
		return tx.Apply(state.Change{ID: "nope", Status: state.StatusRevoked, LedgerIndex: first})
	}); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("a change of an unknown licence: %v", err)
	}
	n := 0
	if err := f.b.ForEach(func(*state.Record) error { n++; return nil }); err != nil || n != 3 {
		t.Fatalf("ForEach saw %d records (%v), want 3", n, err)
	}
	n = 0
	if err := f.b.ForEachSigned(func(r *state.Record) error {
		if r.Credential == "" {
			return fmt.Errorf("%s without its credential", r.ID)
		}
		n++
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("ForEachSigned saw %d records: %v", n, err)
	}
}

func testWatermarkAndReplay(t *testing.T, f *fixture) {
	r := newRecord("A-1", "H1", "c1", "A")
	f.mustInsert(r, nil)
	// Entries appended without the state (an offline command): the
	// watermark stays, and replay applies them.
	at, err := f.l.AppendAll(context.Background(), [][]byte{[]byte("offline revoke"), []byte("offline seal revoke")})
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := f.b.Watermark(); w != at {
		t.Fatalf("watermark %d, want %d (entries without a state change do not move it)", w, at)
	}
	if err := f.b.Apply(state.Change{ID: r.ID, Status: state.StatusRevoked, Reason: "注销", At: t0, LedgerIndex: at}); err != nil {
		t.Fatal(err)
	}
	if err := f.b.RevokeSeal("S-9", t0, "遗失"); err != nil {
		t.Fatal(err)
	}
	if err := f.b.SetWatermark(f.l.Size()); err != nil {
		t.Fatal(err)
	}
	if err := f.b.SetWatermark(1); err != nil {
		t.Fatal(err)
	}
	if w, _ := f.b.Watermark(); w != f.l.Size() {
		t.Fatalf("watermark %d, want %d (it never moves back)", w, f.l.Size())
	}
	if got := f.get(r.ID); got.Status != state.StatusRevoked || got.LastEvent != at+1 {
		t.Fatalf("replayed change: %s, last event %d", got.Status, got.LastEvent)
	}
	if s, err := f.b.Seal("S-9"); err != nil || s.RevokedAt.IsZero() {
		t.Fatalf("replayed revocation of a seal the state did not know: %+v %v", s, err)
	}
}

// searchAll pages through q (q.Limit a page) and returns the records.
func searchAll(t testing.TB, s state.Store, q state.Query) []*state.Record {
	t.Helper()
	var out []*state.Record
	for pages := 0; ; pages++ {
		recs, next, err := s.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > q.Limit || (next != "" && len(recs) != q.Limit) || pages > 1000 {
			t.Fatalf("page of %d with next %q, limit %d", len(recs), next, q.Limit)
		}
		out = append(out, recs...)
		if next == "" {
			return out
		}
		q.After = next
	}
}

func ids(recs []*state.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func testSearchAndPaging(t *testing.T, f *fixture) {
	type row struct{ id, holder, class, agency string }
	var rows []row
	for i := range 30 {
		rows = append(rows, row{fmt.Sprintf("%s-%s-%02d", []string{"c1", "c2"}[i%2], []string{"A", "B"}[i%3%2], i), []string{"H1", "H2", "H3"}[i%3], []string{"c1", "c2"}[i%2], []string{"A", "B"}[i%3%2]})
	}
	// Out of identifier order, as concurrent issuances arrive.
	for _, i := range []int{5, 0, 29, 17, 3, 11, 8, 22, 1, 14, 27, 9, 2, 19, 6, 25, 13, 4, 28, 10, 16, 7, 21, 12, 24, 15, 18, 26, 20, 23} {
		rw := rows[i]
		f.mustInsert(newRecord(rw.id, rw.holder, rw.class, rw.agency), nil)
		if i == 14 {
			if _, err := f.b.MergeHolderLog(f.b.HolderLogLen() / 2); err != nil {
				t.Fatal(err)
			}
		}
	}
	cp := newRecord(rows[0].id+"#d", rows[0].holder, rows[0].class, rows[0].agency)
	cp.CopyOf = rows[0].id
	f.mustInsert(cp, nil)
	f.applyChange(state.Change{ID: rows[3].id, Status: state.StatusRevoked, Reason: "注销", At: t0})
	f.applyChange(state.Change{ID: rows[9].id, Status: state.StatusRevoked, Reason: "注销", At: t0})

	want := func(keep func(row) bool) []string {
		var out []string
		for _, rw := range rows {
			if keep(rw) {
				out = append(out, rw.id)
			}
		}
		slices.Sort(out)
		return out
	}
	revoked := map[string]bool{rows[3].id: true, rows[9].id: true}
	for _, c := range []struct {
		q    state.Query
		keep func(row) bool
	}{
		{state.Query{HolderCode: "H1"}, func(r row) bool { return r.holder == "H1" }},
		{state.Query{HolderCode: "H2", Agency: "A"}, func(r row) bool { return r.holder == "H2" && r.agency == "A" }},
		{state.Query{Agency: "B"}, func(r row) bool { return r.agency == "B" }},
		{state.Query{Agency: "A", Class: "c2"}, func(r row) bool { return r.agency == "A" && r.class == "c2" }},
		{state.Query{Class: "c1"}, func(r row) bool { return r.class == "c1" }},
		{state.Query{Status: state.StatusRevoked}, func(r row) bool { return revoked[r.id] }},
		{state.Query{Agency: "A", Status: state.StatusValid}, func(r row) bool { return r.agency == "A" && !revoked[r.id] }},
		{state.Query{}, func(row) bool { return true }},
		{state.Query{HolderCode: "H9"}, func(row) bool { return false }},
	} {
		for _, limit := range []int{1, 4, 7, 100} {
			q := c.q
			q.Limit = limit
			got, w := ids(searchAll(t, f.b, q)), want(c.keep)
			if q.HolderCode != "" || q.Class != "" && q.Agency == "" || q.Agency == "" && q.Class == "" {
				// One index: identifier order.
				if !slices.Equal(got, w) {
					t.Errorf("%+v: got %v, want %v", q, got, w)
				}
				continue
			}
			slices.Sort(got)
			if !slices.Equal(got, w) {
				t.Errorf("%+v: got %v, want %v", q, got, w)
			}
		}
	}
	if n, err := f.b.MergeHolderLog(1 << 20); err != nil || f.b.HolderLogLen() != 0 {
		t.Fatalf("merge: %d %v, %d left", n, err, f.b.HolderLogLen())
	}
	if got := ids(searchAll(t, f.b, state.Query{HolderCode: "H3", Limit: 3})); !slices.Equal(got, want(func(r row) bool { return r.holder == "H3" })) {
		t.Fatalf("holder search after the merge: %v", got)
	}
}

func testImportKeys(t *testing.T, f *fixture) {
	a := newRecord("A-1", "H1", "c1", "A")
	a.ImportKey = "row-1"
	f.mustInsert(a, nil)
	if got, err := f.b.ByImportKey("A", "row-1"); err != nil || got.ID != a.ID {
		t.Fatalf("by import key: %+v %v", got, err)
	}
	if _, err := f.b.ByImportKey("B", "row-1"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("another agency's import key: %v", err)
	}
	b := newRecord("A-2", "H1", "c1", "A")
	b.ImportKey = "row-1"
	if _, err := f.insert(b, nil); !errors.Is(err, state.ErrExists) {
		t.Fatalf("a taken import key: %v", err)
	}
	if _, err := f.b.Get(b.ID); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("the refused licence is stored: %v", err)
	}
	c := newRecord("B-1", "H1", "c1", "B")
	c.ImportKey = "row-1"
	f.mustInsert(c, nil)
}

func testClaims(t *testing.T, f *fixture) {
	r := newRecord("A-1", "H1", "c1", "A")
	c := &state.Claim{LicenceID: r.ID, Expires: t0.Add(time.Hour), Salt: []byte("salt"), Verifier: []byte("v1")}
	f.mustInsert(r, c)
	if c.Ticket == 0 {
		t.Fatal("Insert numbered no claim ticket")
	}
	n2, err := f.b.PutClaim(state.Claim{LicenceID: r.ID, Expires: t0.Add(-time.Hour), Salt: []byte("s"), Verifier: []byte("v2")})
	if err != nil || n2 <= c.Ticket {
		t.Fatalf("second ticket %d (%v) after %d", n2, err, c.Ticket)
	}
	n3, err := f.b.PutClaim(state.Claim{LicenceID: r.ID, Expires: t0.Add(2 * time.Hour), Verifier: []byte("v3")})
	if err != nil || n3 <= n2 {
		t.Fatalf("third ticket %d (%v) after %d", n3, err, n2)
	}
	wrong := func(state.Claim) bool { return false }
	right := func(c state.Claim) bool { return string(c.Verifier) == "v1" }
	if _, err := f.b.UseClaim(c.Ticket, wrong); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("a wrong secret: %v", err)
	}
	got, err := f.b.UseClaim(c.Ticket, right)
	if err != nil || got.LicenceID != r.ID || !got.Expires.Equal(c.Expires) || string(got.Salt) != "salt" || got.Ticket != c.Ticket {
		t.Fatalf("use: %+v %v", got, err)
	}
	if _, err := f.b.UseClaim(c.Ticket, right); !errors.Is(err, state.ErrExists) {
		t.Fatalf("a spent ticket: %v", err)
	}
	if _, err := f.b.UseClaim(n3+100, right); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("an unknown ticket: %v", err)
	}
	// Concurrent spends of one ticket: one wins.
	var wins sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wins.Go(func() {
			if _, err := f.b.UseClaim(n3, func(state.Claim) bool { return true }); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wins.Wait()
	if won != 1 {
		t.Fatalf("%d concurrent spends of one ticket succeeded", won)
	}
	// The first two expired before t0+90m (the used one too); the third not.
	if n, err := f.b.PruneClaims(t0.Add(90*time.Minute), 10); err != nil || n != 2 {
		t.Fatalf("pruned %d (%v), want 2", n, err)
	}
	if _, err := f.b.UseClaim(n2, func(state.Claim) bool { return true }); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("a pruned ticket: %v", err)
	}
}

func testSeals(t *testing.T, f *fixture) {
	idx, err := f.change("seal", 1, func(tx state.Tx, first uint64) error {
		return tx.PutSeal(state.SealRecord{ESID: "S-1", Agency: "A", HolderCode: "H1", MadeAt: t0, LedgerIndex: first})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Made again (a replay): left as it is.
	if _, err := f.change("seal again", 1, func(tx state.Tx, first uint64) error {
		return tx.PutSeal(state.SealRecord{ESID: "S-1", Agency: "B", MadeAt: t0, LedgerIndex: first})
	}); err != nil {
		t.Fatal(err)
	}
	if s, err := f.b.Seal("S-1"); err != nil || s.Agency != "A" || s.LedgerIndex != idx || !s.RevokedAt.IsZero() {
		t.Fatalf("seal: %+v %v", s, err)
	}
	if _, err := f.b.Seal("S-2"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("an unknown seal: %v", err)
	}
	if rs, err := f.b.RevokedSeals(); err != nil || len(rs) != 0 {
		t.Fatalf("revoked seals before any revocation: %v %v", rs, err)
	}
	for _, c := range []struct {
		esid, reason string
		at           time.Time
	}{{"S-1", "遗失", t0.Add(time.Hour)}, {"S-1", "停用", t0.Add(2 * time.Hour)}, {"S-X", "单位注销", t0}} {
		if _, err := f.change("revoke", 1, func(tx state.Tx, first uint64) error {
			return tx.RevokeSeal(c.esid, c.at, c.reason, first)
		}); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := f.b.RevokedSeals()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]state.SealRecord{}
	for _, r := range rs {
		byID[r.ESID] = r
	}
	if len(rs) != 2 || byID["S-1"].Reason != "遗失" || !byID["S-1"].RevokedAt.Equal(t0.Add(time.Hour)) || byID["S-X"].Reason != "单位注销" {
		t.Fatalf("revoked seals: %+v", rs)
	}
	if w, _ := f.b.Watermark(); w != f.l.Size() {
		t.Fatalf("watermark %d, ledger size %d", w, f.l.Size())
	}
	if _, err := f.b.AgencySeal("A"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("an agency seal not made: %v", err)
	}
	if err := f.b.PutAgencySeal("A", []byte{0x30, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if der, err := f.b.AgencySeal("A"); err != nil || !bytes.Equal(der, []byte{0x30, 1, 2}) {
		t.Fatalf("agency seal: %x %v", der, err)
	}
}

func testAudit(t *testing.T, f *fixture) {
	i, err := f.change("audited", 2, func(tx state.Tx, first uint64) error {
		if err := tx.PutAudit(first, map[string]string{"operator": "op-1"}); err != nil {
			return err
		}
		return tx.PutAudit(first+1, map[string]string{"holder_code": "91310000", "holder_name": "某公司"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := f.b.Audit(i); err != nil || len(a) != 1 || a["operator"] != "op-1" {
		t.Fatalf("audit %d: %v %v", i, a, err)
	}
	if a, err := f.b.Audit(i + 1); err != nil || a["holder_name"] != "某公司" {
		t.Fatalf("audit %d: %v %v", i+1, a, err)
	}
	if _, err := f.b.Audit(i + 2); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("no audit record: %v", err)
	}
}

func testTokensAndSnapshot(t *testing.T, f *fixture) {
	if ok, err := f.b.TokenRevoked("jti-1"); err != nil || ok {
		t.Fatalf("a token not revoked: %v %v", ok, err)
	}
	if err := f.b.RevokeToken("jti-1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.b.TokenRevoked("jti-1"); err != nil || !ok {
		t.Fatalf("a revoked token: %v %v", ok, err)
	}
	if size, data, err := f.b.StatusSnapshot(); err != nil || data != nil || size != 0 {
		t.Fatalf("no snapshot yet: %d %x %v", size, data, err)
	}
	if err := f.b.PutStatusSnapshot(42, []byte("lists")); err != nil {
		t.Fatal(err)
	}
	f.reopen()
	if size, data, err := f.b.StatusSnapshot(); err != nil || size != 42 || string(data) != "lists" {
		t.Fatalf("snapshot: %d %q %v", size, data, err)
	}
	if ok, _ := f.b.TokenRevoked("jti-1"); !ok {
		t.Fatal("a token revocation did not survive a reopen")
	}
	// A backend streams a copy, or says its database's tools do it.
	var buf bytes.Buffer
	if n, err := f.b.Backup(&buf); errors.Is(err, state.ErrNoStreamBackup) {
		if n != 0 || buf.Len() != 0 {
			t.Fatalf("a backend that does not stream a backup wrote %d bytes", buf.Len())
		}
	} else if err != nil || n == 0 || int64(buf.Len()) != n {
		t.Fatalf("backup: %d bytes (%d written), %v", n, buf.Len(), err)
	}
}

// testLedgerConflict: the backend's ledger store refuses a batch that
// does not start at its size, and writes nothing of it.
func testLedgerConflict(t *testing.T, f *fixture) {
	f.mustInsert(newRecord("A-1", "H1", "c1", "A"), nil)
	size := f.l.Size()
	ls := f.b.Ledger()
	called := false
	err := ls.Write(context.Background(), &ledger.Batch{Start: size + 5}, func(state.Tx) error { called = true; return nil })
	if !errors.Is(err, ledger.ErrConflict) {
		t.Fatalf("a batch past the end: %v", err)
	}
	st, err := ls.State(context.Background())
	if err != nil || st.Size != size || st.Origin != "statetest/ledger" || st.EntryFormat != "statetest 1" {
		t.Fatalf("ledger state: %+v %v", st, err)
	}
	if called {
		t.Error("apply ran for a refused batch")
	}
	n := 0
	if err := ls.Entries(context.Background(), 0, size, func(uint64, []byte) error { n++; return nil }); err != nil || uint64(n) != size {
		t.Fatalf("entries: %d of %d, %v", n, size, err)
	}
}

// signedBy gives r a QR core signed by key kid (hex), as an issuance does.
func signedBy(r *state.Record, kid string) *state.Record {
	b, _ := hex.DecodeString(kid)
	r.Holding = &qr.Holding{Core: []byte("core of " + r.ID), KeyID: b, IssuerSig: []byte("sig"), Credential: r.CredentialHash}
	return r
}

// testRetiredKeys: once an event retires a key, a licence it signs is
// refused (ErrKeyRetired), in a later batch or later in the same one;
// licences before the event, and other keys' after it, are not.
func testRetiredKeys(t *testing.T, f *fixture) {
	const old, cur = "0102030405060708", "1112131415161718"
	f.mustInsert(signedBy(newRecord("K-1", "H", "c1", "A"), old), nil)
	_, err := f.change("retire", 1, func(tx state.Tx, first uint64) error { return tx.RetireKey(old, first) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.insert(signedBy(newRecord("K-2", "H", "c1", "A"), old), nil); !errors.Is(err, state.ErrKeyRetired) {
		t.Fatalf("a licence signed by a retired key: %v, want ErrKeyRetired", err)
	}
	f.mustInsert(signedBy(newRecord("K-3", "H", "c1", "A"), cur), nil)
	// One batch: the old key signs before the event, then is retired, then
	// signs again.
	p1, _ := f.b.Prepare(signedBy(newRecord("K-4", "H", "c1", "B"), "2122232425262728"), nil)
	p2, _ := f.b.Prepare(signedBy(newRecord("K-5", "H", "c1", "B"), "2122232425262728"), nil)
	_, err = f.change("batch", 3, func(tx state.Tx, first uint64) error {
		if err := tx.Insert(p1, first); err != nil {
			return err
		}
		if err := tx.RetireKey("2122232425262728", first+1); err != nil {
			return err
		}
		return tx.Insert(p2, first+2)
	})
	if !errors.Is(err, state.ErrKeyRetired) {
		t.Fatalf("a licence signed later in the batch that retired its key: %v, want ErrKeyRetired", err)
	}
	for id, want := range map[string]bool{"K-1": true, "K-2": false, "K-3": true, "K-4": false, "K-5": false} {
		if _, err := f.b.Get(id); (err == nil) != want {
			t.Errorf("%s: %v, want it stored: %v", id, err, want)
		}
	}
}

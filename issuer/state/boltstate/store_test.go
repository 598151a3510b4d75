package boltstate

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"elicense/internal/gm"
	"elicense/issuer/state"
)

func open(t *testing.T) *Store {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func record(i int, holder, class string) *state.Record {
	h := gm.SM3([]byte(fmt.Sprint(i)))
	return &state.Record{ID: fmt.Sprintf("id-%03d", i), Class: class, Agency: "A", HolderCode: holder, Status: state.StatusValid, CredentialHash: hex.EncodeToString(h[:])}
}

// insert writes r as the server does, at ledger index idx.
func insert(t *testing.T, s *Store, r *state.Record, idx uint64, claim *state.Claim) error {
	t.Helper()
	p, err := s.Prepare(r, claim)
	if err != nil {
		t.Fatal(err)
	}
	return s.db.Update(func(btx *bolt.Tx) error {
		return s.inTx(btx, func(stx state.Tx) error { return stx.Insert(p, idx) })
	})
}

func TestInsertApply(t *testing.T) {
	s := open(t)
	a, b := record(1, "H1", "c1"), record(2, "H1", "c1")
	a.ImportKey = "row-1"
	claim := &state.Claim{LicenceID: a.ID, Expires: time.Now().Add(time.Hour)}
	if err := insert(t, s, a, 7, claim); err != nil {
		t.Fatal(err)
	}
	if claim.Ticket != 1 {
		t.Fatalf("first claim ticket numbered %d", claim.Ticket)
	}
	if err := insert(t, s, a, 8, nil); !errors.Is(err, state.ErrExists) {
		t.Fatalf("second insert of the same ID: %v", err)
	}
	b.ImportKey = "row-1"
	if err := insert(t, s, b, 8, nil); !errors.Is(err, state.ErrExists) {
		t.Fatalf("insert with a taken import key: %v", err)
	}
	if _, err := s.Get(b.ID); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("a refused insert left a record: %v", err)
	}
	got, err := s.Get(a.ID)
	if err != nil || got.LedgerIndex != 7 || got.LastEvent != 8 {
		t.Fatalf("inserted record %+v, %v", got, err)
	}
	if w, _ := s.Watermark(); w != 8 {
		t.Fatalf("watermark %d after an insert at 7", w)
	}
	if r, err := s.ByImportKey("A", "row-1"); err != nil || r.ID != a.ID {
		t.Fatalf("import key: %v", err)
	}
	if c, err := s.UseClaim(claim.Ticket, anyCode); err != nil || c.LicenceID != a.ID {
		t.Fatalf("claim stored with the record: %+v %v", c, err)
	}
	// A change older than the record's last event is ignored.
	if err := s.Apply(state.Change{ID: a.ID, Status: state.StatusRevoked, LedgerIndex: 5}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(a.ID); got.Status != state.StatusValid {
		t.Fatal("an older event overwrote a newer one")
	}
	if err := s.Apply(state.Change{ID: a.ID, Status: state.StatusRevoked, Reason: "吊销", LedgerIndex: 9}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(a.ID); got.Status != state.StatusRevoked || got.LastEvent != 10 {
		t.Fatalf("applied change: %+v", got)
	}
	if w, _ := s.Watermark(); w != 10 {
		t.Fatalf("watermark %d after a change at 9", w)
	}
	// A device copy is listed on its licence.
	cp := record(3, "H1", "c1")
	cp.ID, cp.CopyOf = a.ID+"#dev", a.ID
	if err := insert(t, s, cp, 11, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(a.ID); len(got.Copies) != 1 || got.Copies[0] != cp.ID {
		t.Fatalf("copies of the licence: %v", got.Copies)
	}
}

func TestSearchPaging(t *testing.T) {
	s := open(t)
	// 60 licences: holders H0..H2, classes c0..c1, agencies A and B; every
	// fifth has a device copy, which no search lists.
	for i := range 60 {
		r := record(i, fmt.Sprint("H", i%3), fmt.Sprint("c", i%2))
		if i%4 >= 2 {
			r.Agency = "B"
		}
		if i == 7 {
			r.Status = state.StatusRevoked
		}
		idx := uint64(2 * (i * 7 % 60))
		if err := insert(t, s, r, idx, nil); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			cp := record(1000+i, r.HolderCode, r.Class)
			cp.ID, cp.CopyOf, cp.Agency = r.ID+"#dev", r.ID, r.Agency
			if err := insert(t, s, cp, idx+1, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := func(q state.Query) []string {
		var ids []string
		for i := range 60 {
			agency := "A"
			if i%4 >= 2 {
				agency = "B"
			}
			if (q.HolderCode == "" || q.HolderCode == fmt.Sprint("H", i%3)) && (q.Class == "" || q.Class == fmt.Sprint("c", i%2)) &&
				(q.Agency == "" || q.Agency == agency) && (q.Status == "" || (q.Status == state.StatusRevoked) == (i == 7)) {
				ids = append(ids, fmt.Sprintf("id-%03d", i))
			}
		}
		return ids
	}
	// Holder searches read the holder log and the index: check them with
	// every entry in the log, some merged, and all merged.
	// Ledger indexes follow a permutation of the identifiers, so merged
	// and unmerged entries interleave.
	for _, m := range []struct{ max, moved, left int }{{0, 0, 60}, {17, 17, 43}, {100, 43, 0}} {
		if n, err := s.MergeHolderLog(m.max); err != nil || n != m.moved || s.HolderLogLen() != m.left {
			t.Fatalf("MergeHolderLog(%d) = %d, %v, leaving %d; want %d moved, %d left", m.max, n, err, s.HolderLogLen(), m.moved, m.left)
		}
		checkSearches(t, s, want)
	}
	if n := s.HolderLogLen(); n != 0 {
		t.Errorf("holder log holds %d entries after merging all", n)
	}
}

func checkSearches(t *testing.T, s *Store, want func(state.Query) []string) {
	t.Helper()
	for _, q := range []state.Query{
		{HolderCode: "H1"}, {HolderCode: "H1", Agency: "B"}, {HolderCode: "H2", Status: state.StatusValid}, {HolderCode: "none"},
		{Class: "c1"}, {Agency: "A"}, {Agency: "B", Class: "c0"},
		{Agency: "B", Status: state.StatusValid}, {Agency: "B", Status: state.StatusRevoked}, {},
	} {
		q.Limit = 4
		got := searchAll(t, s, q)
		w := want(q)
		if (q.Agency == "" || q.Class != "") && !slices.IsSorted(got) {
			t.Errorf("%+v in pages of 4: not in identifier order: %v", q, got)
		}
		slices.Sort(got) // the agency index lists by class, then identifier
		if !slices.Equal(got, w) {
			t.Errorf("%+v in pages of 4:\n got %v\nwant %v", q, got, w)
		}
	}
}

func anyCode(state.Claim) bool { return true }

func TestClaims(t *testing.T) {
	s := open(t)
	secret := func(want string) func(state.Claim) bool {
		return func(c state.Claim) bool { return string(c.Verifier) == want }
	}
	n, err := s.PutClaim(state.Claim{LicenceID: "x", Expires: time.Now().Add(time.Hour), Verifier: []byte("right")})
	if err != nil || n != 1 {
		t.Fatalf("first ticket: %d, %v", n, err)
	}
	if n2, err := s.PutClaim(state.Claim{LicenceID: "y", Verifier: []byte("other")}); err != nil || n2 != 2 {
		t.Fatalf("second ticket: %d, %v", n2, err)
	}
	// A refused secret reads as an unknown ticket and spends nothing.
	if _, err := s.UseClaim(n, secret("wrong")); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("wrong secret: %v", err)
	}
	if c, err := s.UseClaim(n, secret("right")); err != nil || c.LicenceID != "x" || c.Ticket != n {
		t.Fatalf("first use: %+v %v", c, err)
	}
	if _, err := s.UseClaim(n, secret("right")); !errors.Is(err, state.ErrExists) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := s.UseClaim(99, anyCode); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("unknown ticket: %v", err)
	}
}

// TestClaimTicketsAppend: tickets made with issuances take increasing
// numbers, so the bucket only grows at its right edge, and numbers stop
// at MaxClaimTicket rather than wrap onto live tickets.
func TestClaimTicketsAppend(t *testing.T) {
	s := open(t)
	var last uint64
	for i := range 50 {
		c := &state.Claim{LicenceID: fmt.Sprint("id-", i)}
		if err := insert(t, s, record(i, "H", "c"), uint64(i), c); err != nil {
			t.Fatal(err)
		}
		if c.Ticket <= last {
			t.Fatalf("ticket %d after %d", c.Ticket, last)
		}
		last = c.Ticket
	}
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketClaims).SetSequence(state.MaxClaimTicket - 1) })
	if n, err := s.PutClaim(state.Claim{}); err != nil || n != state.MaxClaimTicket {
		t.Fatalf("last number: %d, %v", n, err)
	}
	if _, err := s.PutClaim(state.Claim{}); !errors.Is(err, state.ErrClaimTickets) {
		t.Fatalf("past the last number: %v", err)
	}
}

// BenchmarkSearchAgency is an operator's default listing: one page of its
// agency's licences, in a store of 20,000 where the agency's come last in
// identifier order.
func BenchmarkSearchAgency(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 20000
	insertMany(b, s, n, func(i int) *state.Record {
		r := record(i, fmt.Sprint("H", i), fmt.Sprint("c", i%9))
		// Identifiers begin with the class's type code, as real ones do.
		r.ID, r.Agency = fmt.Sprintf("c%d-%06d", i%9, i), fmt.Sprint("A", i%9)
		return r
	})
	for b.Loop() {
		recs, _, err := s.Search(state.Query{Agency: "A8", Limit: 100})
		if err != nil || len(recs) != 100 {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
}

func TestLayoutMark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketState).Put(keyFormat, []byte("elicense-state 1")) })
	s.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, state.ErrFormat) || !strings.Contains(err.Error(), `"elicense-state 1"`) {
		t.Fatalf("opening another layout: %v", err)
	}
}

// A layout-4 state is a layout-5 one with its holder log merged: it is
// opened, given an empty log, and marked 5.
func TestLayout4Upgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := record(1, "H1", "c1")
	if err := insert(t, s, r, 3, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := s.MergeHolderLog(10); n != 1 || err != nil {
		t.Fatalf("merge: %d, %v", n, err)
	}
	s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketHolderLog); err != nil {
			return err
		}
		return tx.Bucket(bucketState).Put(keyFormat, []byte("elicense-state 4"))
	})
	s.Close()
	if s, err = Open(path, Options{}); err != nil {
		t.Fatalf("opening layout 4: %v", err)
	}
	defer s.Close()
	if recs, _, err := s.Search(state.Query{HolderCode: "H1"}); err != nil || len(recs) != 1 || recs[0].ID != r.ID {
		t.Fatalf("holder search after the upgrade: %v, %v", recs, err)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if f := tx.Bucket(bucketState).Get(keyFormat); string(f) != stateFormat {
			t.Errorf("layout mark %q after opening", f)
		}
		return nil
	})
}

func TestPruneClaims(t *testing.T) {
	s := open(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	// Tickets 1..6 expired an hour apart before now, 7..10 expire after;
	// the odd ones come with a licence, the even ones on their own.
	for i := 1; i <= 10; i++ {
		exp := now.Add(time.Duration(i-7)*time.Hour - time.Minute)
		if i > 6 {
			exp = now.Add(time.Duration(i) * time.Hour)
		}
		c := state.Claim{LicenceID: fmt.Sprint("id-", i), Expires: exp}
		if i%2 == 1 {
			if err := insert(t, s, record(i, "H", "c"), uint64(i), &c); err != nil {
				t.Fatal(err)
			}
		} else if _, err := s.PutClaim(c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UseClaim(2, anyCode); err != nil { // used and expired: pruned too
		t.Fatal(err)
	}
	if n, err := s.PruneClaims(now, 4); err != nil || n != 4 {
		t.Fatalf("first prune: %d, %v", n, err)
	}
	if n, err := s.PruneClaims(now, 100); err != nil || n != 2 {
		t.Fatalf("second prune: %d, %v", n, err)
	}
	if n, _ := s.PruneClaims(now, 100); n != 0 {
		t.Fatalf("third prune removed %d", n)
	}
	for i := uint64(1); i <= 10; i++ {
		_, err := s.UseClaim(i, anyCode)
		if i <= 6 && !errors.Is(err, state.ErrNotFound) {
			t.Errorf("ticket %d expired but %v", i, err)
		}
		if i > 6 && err != nil {
			t.Errorf("ticket %d still valid but %v", i, err)
		}
	}
	if _, err := s.Get("id-001"); err != nil {
		t.Errorf("pruning a claim touched its licence: %v", err)
	}
}

// TestSnapshotApart: a change after a large status-list snapshot writes a
// few pages, not the snapshot again (it shared a bucket with the
// watermark, and bbolt rewrote it with every commit).
func TestSnapshotApart(t *testing.T) {
	s := open(t)
	if err := s.PutStatusSnapshot(1, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	for w := uint64(2); w < 5; w++ {
		before := s.db.Stats().TxStats
		if err := s.db.Update(func(tx *bolt.Tx) error { return advance(tx, w) }); err != nil {
			t.Fatal(err)
		}
		after := s.db.Stats().TxStats
		if n := after.GetPageCount() - before.GetPageCount(); n > 8 {
			t.Fatalf("moving the watermark with a 1 MB snapshot stored wrote %d pages", n)
		}
	}
	if size, data, err := s.StatusSnapshot(); err != nil || size != 1 || len(data) != 1<<20 {
		t.Fatalf("snapshot read back: %d, %d bytes, %v", size, len(data), err)
	}
}

// The holder log's count follows what commits: an issuance rolled back
// with its batch (the ledger writes the rest again) is not counted, nor
// is a merge that does not commit.
func TestHolderLogCountsCommitsOnly(t *testing.T) {
	s := open(t)
	fail := errors.New("another change in the batch failed")
	p, err := s.Prepare(record(1, "H1", "c1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(btx *bolt.Tx) error {
		return s.inTx(btx, func(stx state.Tx) error {
			if err := stx.Insert(p, 0); err != nil {
				return err
			}
			return fail
		})
	}); !errors.Is(err, fail) {
		t.Fatal(err)
	}
	if err := insert(t, s, record(2, "H1", "c1"), 1, nil); err != nil {
		t.Fatal(err)
	}
	if n := s.HolderLogLen(); n != 1 {
		t.Fatalf("holder log counted %d after one issuance committed and one rolled back", n)
	}
	if n, err := s.MergeHolderLog(10); n != 1 || err != nil || s.HolderLogLen() != 0 {
		t.Fatalf("merge: %d, %v; %d left", n, err, s.HolderLogLen())
	}
}

// BenchmarkSearchHolder is a holder's search while the holder log holds
// n new licences (reports the log's size in entries): the log is read
// whole, the index in time proportional to the answer.
func BenchmarkSearchHolder(b *testing.B) {
	for _, n := range []int{8192, 32768} {
		b.Run(fmt.Sprint("log=", n), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			insertMany(b, s, n, func(i int) *state.Record { return record(i, fmt.Sprintf("H%05d", i%5000), "c1") })
			for b.Loop() {
				if recs, _, err := s.Search(state.Query{HolderCode: "H00042"}); err != nil || len(recs) == 0 {
					b.Fatalf("%d records, %v", len(recs), err)
				}
			}
		})
	}
}

// A merge larger than one run puts every entry, and the log is emptied.
func TestMergeInRuns(t *testing.T) {
	s := open(t)
	const n = 2*mergeChunk + 17
	insertMany(t, s, n, func(i int) *state.Record { return record(i, fmt.Sprint("H", i%10), "c1") })
	if moved, err := s.MergeHolderLog(n); moved != n || err != nil || s.HolderLogLen() != 0 {
		t.Fatalf("merge: %d, %v; %d left", moved, err, s.HolderLogLen())
	}
	s.db.View(func(tx *bolt.Tx) error {
		if k := tx.Bucket(bucketHolder).Stats().KeyN; k != n {
			t.Errorf("holder index holds %d entries, want %d", k, n)
		}
		return nil
	})
	if recs, _, err := s.Search(state.Query{HolderCode: "H3", Limit: 1000}); err != nil || len(recs) != (n+6)/10 {
		t.Errorf("H3: %d licences, %v", len(recs), err)
	}
}

// A merge that stopped between its runs and its deletion from the log
// (a crash) leaves entries in both places: a search lists each once, and
// the next merge finishes the job.
func TestHolderInBothPlaces(t *testing.T) {
	s := open(t)
	for i := range 10 {
		if err := insert(t, s, record(i, "H1", "c1"), uint64(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	s.db.Update(func(tx *bolt.Tx) error { // the first run of a merge
		for i := range 5 {
			if err := tx.Bucket(bucketHolder).Put(indexKey("H1", fmt.Sprintf("id-%03d", i)), nil); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(when string) {
		t.Helper()
		got := searchAll(t, s, state.Query{HolderCode: "H1", Limit: 3})
		want := make([]string, 10)
		for i := range want {
			want[i] = fmt.Sprintf("id-%03d", i)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", when, got, want)
		}
	}
	check("half in both places")
	if n, err := s.MergeHolderLog(100); n != 10 || err != nil || s.HolderLogLen() != 0 {
		t.Fatalf("merge: %d, %v; %d left", n, err, s.HolderLogLen())
	}
	check("merged")
}

// insertMany inserts n records, rec(i) at ledger index i, in one
// transaction.
func insertMany(tb testing.TB, s *Store, n int, rec func(int) *state.Record) {
	tb.Helper()
	err := s.db.Update(func(btx *bolt.Tx) error {
		return s.inTx(btx, func(stx state.Tx) error {
			for i := range n {
				p, err := s.Prepare(rec(i), nil)
				if err != nil {
					return err
				}
				if err := stx.Insert(p, uint64(i)); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// searchAll pages through q's answers (q.Limit a page) and returns the
// identifiers in the order given.
func searchAll(t *testing.T, s *Store, q state.Query) []string {
	t.Helper()
	var got []string
	for {
		recs, next, err := s.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, r.ID)
		}
		if next == "" {
			return got
		}
		q.After = next
	}
}

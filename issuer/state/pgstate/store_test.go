package pgstate_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/certs/qr"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/state"
	"elicense/issuer/state/pgstate"
)

var ctx = context.Background()

// build returns a WriteLocked build function appending entries on
// whatever size it is given, with their stored hashes computed from
// the tree's edge read inside the transaction; *at is set to the first
// index.
func build(entries [][]byte, at *uint64) func(uint64, ledger.Reader) (*ledger.Batch, error) {
	return func(size uint64, r ledger.Reader) (*ledger.Batch, error) {
		nodes := tlog.FrontierNodes(size)
		idx := make([]uint64, len(nodes))
		for i, n := range nodes {
			idx[i] = tlog.StoredIndex(n)
		}
		hs := make([]tlog.Hash, len(nodes))
		if err := r.Hashes(ctx, idx, hs); err != nil {
			return nil, err
		}
		f, err := tlog.NewFrontier(size, hs)
		if err != nil {
			return nil, err
		}
		var out []tlog.Hash
		for _, e := range entries {
			out = f.Append(tlog.SM3, tlog.SM3.HashLeaf(e), out)
		}
		*at = size
		return &ledger.Batch{Start: size, Origin: "pgstate/test", Entries: entries, Hashes: out}, nil
	}
}

func shared(s *pgstate.Store) ledger.SharedStore[state.Tx] {
	return s.Ledger().(ledger.SharedStore[state.Tx])
}

func record(id, list string, index uint64, importKey string) *state.Record {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	return &state.Record{ID: id, Class: "c1", Agency: "A", HolderCode: "H", HolderName: "n", Fields: map[string]string{"n": id},
		Status: state.StatusValid, StatusList: list, StatusIndex: index, Credential: "cred-" + id, CredentialHash: "h",
		IssuedAt: t0, UpdatedAt: t0, IssuedOn: "2026-03-01", ImportKey: importKey}
}

// insert appends one entry with r's issuance through WriteLocked.
func insert(s *pgstate.Store, r *state.Record) (uint64, error) {
	p, err := s.Prepare(r, &state.Claim{LicenceID: r.ID, Expires: time.Now().Add(time.Hour), Verifier: []byte("v")})
	if err != nil {
		return 0, err
	}
	var at uint64
	err = shared(s).WriteLocked(ctx, build([][]byte{[]byte("issue " + r.ID)}, &at), func(tx state.Tx) error { return tx.Insert(p, at) })
	return at, err
}

// TestWriteLockedTwoStores: two stores (two pools, as two processes
// would have) append 2,000 batches concurrently, each with a licence;
// the log is gap-free, every batch's entries are contiguous, and Fsck
// recomputes every hash.
func TestWriteLockedTwoStores(t *testing.T) {
	dsn := testDSN(t)
	a := openTest(t, dsn, "t_pg_twostores")
	defer a.Close()
	b, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_twostores"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const workers, batches = 4, 250 // per store
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := map[uint64]int{} // first index → entries
	errs := make(chan error, 2*workers)
	for si, s := range []*pgstate.Store{a, b} {
		for w := range workers {
			wg.Go(func() {
				for i := range batches {
					n := 1 + (i % 3)
					es := make([][]byte, n)
					for j := range es {
						es[j] = fmt.Appendf(nil, "s%d-w%d-b%d-%d", si, w, i, j)
					}
					id := fmt.Sprintf("L-%d-%d-%d", si, w, i)
					r := record(id, "A-1", uint64(si*1_000_000+w*1000+i), "")
					p, err := s.Prepare(r, nil)
					if err != nil {
						errs <- err
						return
					}
					var at uint64
					if err := shared(s).WriteLocked(ctx, build(es, &at), func(tx state.Tx) error { return tx.Insert(p, at) }); err != nil {
						errs <- fmt.Errorf("store %d worker %d batch %d: %w", si, w, i, err)
						return
					}
					mu.Lock()
					firsts[at] = n
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, err := a.Ledger().State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Gap-free: the batches tile [0, size).
	var next uint64
	for range firsts {
		n, ok := firsts[next]
		if !ok {
			t.Fatalf("no batch starts at %d", next)
		}
		next += uint64(n)
	}
	if next != st.Size || len(firsts) != 2*workers*batches {
		t.Fatalf("%d batches tile %d entries, the store holds %d", len(firsts), next, st.Size)
	}
	rep, err := ledger.Fsck(ctx, b.Ledger(), ledger.FsckOptions{})
	if err != nil {
		t.Fatalf("fsck: %v (%+v)", err, rep)
	}
	// Every licence is at its batch's first entry.
	n := 0
	if err := a.ForEach(func(r *state.Record) error {
		if _, ok := firsts[r.LedgerIndex]; !ok {
			return fmt.Errorf("%s at %d, no batch starts there", r.ID, r.LedgerIndex)
		}
		n++
		return nil
	}); err != nil || n != 2*workers*batches {
		t.Fatalf("%d licences: %v", n, err)
	}
}

// TestRejectedAcrossStores: a unique key another store took is found
// when the rows are written and refuses that change alone, naming its
// ledger entry; nothing of the refused batch is written.
func TestRejectedAcrossStores(t *testing.T) {
	dsn := testDSN(t)
	a := openTest(t, dsn, "t_pg_rejected")
	defer a.Close()
	b, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_rejected"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := insert(a, record("A-1", "A-1", 7, "row-1")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		r    *state.Record
		want error
	}{
		{"identifier", record("A-1", "A-1", 8, ""), state.ErrExists},
		{"import key", record("A-2", "A-1", 9, "row-1"), state.ErrExists},
		{"status position", record("A-3", "A-1", 7, ""), state.ErrExists},
	} {
		before, _ := b.Ledger().State(ctx)
		at, err := insert(b, c.r)
		var re *ledger.RejectedError
		if !errors.As(err, &re) || re.Index != at || !errors.Is(err, c.want) {
			t.Errorf("%s taken by the other store: %v (entry %d)", c.name, err, at)
		}
		if after, _ := b.Ledger().State(ctx); after.Size != before.Size {
			t.Errorf("%s: the refused batch wrote %d entries", c.name, after.Size-before.Size)
		}
	}
	if _, err := b.Get("A-2"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("a refused licence is stored: %v", err)
	}
	// A change of a licence that does not exist.
	var at uint64
	err = shared(b).WriteLocked(ctx, build([][]byte{[]byte("revoke")}, &at), func(tx state.Tx) error {
		return tx.Apply(state.Change{ID: "nope", Status: state.StatusRevoked, LedgerIndex: at})
	})
	var re *ledger.RejectedError
	if !errors.As(err, &re) || re.Index != at || !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("a change of a missing licence: %v", err)
	}
	// Both stores go on.
	rb := record("B-1", "B-1", 1, "row-1")
	rb.Agency = "B"
	if _, err := insert(b, rb); err != nil {
		t.Fatal(err)
	}
	if r, err := a.ByImportKey("B", "row-1"); err != nil || r.ID != "B-1" {
		t.Fatalf("import key of agency B: %v", err)
	}
}

// TestLead: one store leads; the lead moves to the other when the
// leader closes, and when its connection is killed.
func TestLead(t *testing.T) {
	dsn := testDSN(t)
	a := openTest(t, dsn, "t_pg_lead")
	b, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_lead"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	lead := func(s *pgstate.Store) bool {
		t.Helper()
		ok, err := shared(s).Lead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !lead(a) || lead(b) || !lead(a) {
		t.Fatal("a should lead, b not")
	}
	a.Close()
	if !eventually(func() bool { return lead(b) }) {
		t.Fatal("b did not take the lead after a closed")
	}
	c, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_lead"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if lead(c) {
		t.Fatal("c leads while b does")
	}
	if n := terminate(t, dsn, "t_pg_lead", b); n == 0 {
		t.Fatal("no connection of b to terminate")
	}
	if lead(b) {
		t.Fatal("b still leads after its connection was killed")
	}
	if !eventually(func() bool { return lead(c) }) {
		t.Fatal("c did not take the lead")
	}
}

func eventually(f func() bool) bool {
	for range 50 {
		if f() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// terminate kills every server connection of the store's schema (other
// than except's pool, if given, and the caller's own) from another
// connection, and returns how many it killed.
func terminate(t *testing.T, dsn, schema string, _ *pgstate.Store) int {
	t.Helper()
	s := openAdmin(t, dsn)
	defer s.Close()
	var n int
	err := s.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid()`, "elicense/"+schema).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// openAdmin opens a store on a schema of its own, for its connections.
func openAdmin(t *testing.T, dsn string) *pgstate.Store {
	return openTest(t, dsn, "t_pg_admin")
}

// TestUnavailable: a statement timeout and a connection killed in the
// middle of a transaction fail with state.ErrUnavailable, write nothing,
// and the store works again afterwards.
func TestUnavailable(t *testing.T) {
	dsn := testDSN(t)
	s := openTest(t, dsn, "t_pg_unavail")
	s.Close()
	s, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_unavail", StatementTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := insert(s, record("A-1", "A-1", 1, "")); err != nil {
		t.Fatal(err)
	}
	// Another session holds the head's lock longer than the timeout.
	admin := openAdmin(t, dsn)
	defer admin.Close()
	hold, err := admin.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(ctx, `SELECT 1 FROM "t_pg_unavail".ledger_head FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	_, err = insert(s, record("A-2", "A-1", 2, ""))
	hold.Rollback(ctx)
	if !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("a write past the statement timeout: %v", err)
	}
	if _, err := insert(s, record("A-2", "A-1", 2, "")); err != nil {
		t.Fatalf("after the timeout: %v", err)
	}

	// A connection killed while its transaction holds the lock.
	killed := make(chan struct{})
	var at uint64
	p, _ := s.Prepare(record("A-3", "A-1", 3, ""), nil)
	err = shared(s).WriteLocked(ctx, func(size uint64, r ledger.Reader) (*ledger.Batch, error) {
		b, err := build([][]byte{[]byte("issue A-3")}, &at)(size, r)
		if terminate(t, dsn, "t_pg_unavail", nil) == 0 {
			t.Error("nothing to terminate")
		}
		close(killed)
		return b, err
	}, func(tx state.Tx) error { return tx.Insert(p, at) })
	<-killed
	if !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("a write whose connection was killed: %v", err)
	}
	if _, err := s.Get("A-3"); !errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("after the kill: %v", err)
	}
	if !eventually(func() bool { _, err = s.Get("A-2"); return err == nil }) {
		t.Fatalf("the store does not recover: %v", err)
	}
	if _, err := insert(s, record("A-3", "A-1", 3, "")); err != nil {
		t.Fatalf("a write after the kill: %v", err)
	}
	if st, err := s.Ledger().State(ctx); err != nil || st.Size != 3 {
		t.Fatalf("ledger after the failures: %+v %v (want 3 entries: nothing of the failed writes)", st, err)
	}
	if _, err := ledger.Fsck(ctx, s.Ledger(), ledger.FsckOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestVersionRefused: a schema written by a later version is refused,
// naming both versions.
func TestVersionRefused(t *testing.T) {
	dsn := testDSN(t)
	s := openTest(t, dsn, "t_pg_version")
	if _, err := s.Pool().Exec(ctx, `UPDATE "t_pg_version".schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_version"})
	var ve *pgstate.VersionError
	if !errors.As(err, &ve) || !errors.Is(err, state.ErrFormat) || ve.Have != 99 || !strings.Contains(err.Error(), "99") || !strings.Contains(err.Error(), fmt.Sprintf("version %d", ve.Want)) {
		t.Fatalf("a newer schema: %v", err)
	}
}

// TestMigrateFromVersion1: a schema of version 1 (before retired keys)
// is brought to the current version at open, keeping its data.
func TestMigrateFromVersion1(t *testing.T) {
	dsn := testDSN(t)
	s := openTest(t, dsn, "t_pg_v1")
	if _, err := s.Pool().Exec(ctx, dropV3("t_pg_v1")+`; DROP TABLE "t_pg_v1".retired_keys; UPDATE "t_pg_v1".schema_version SET version = 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_v1"})
	if err != nil {
		t.Fatalf("opening a version-1 schema: %v", err)
	}
	defer s2.Close()
	var v int
	var n int
	if err := s2.Pool().QueryRow(ctx, `SELECT version, (SELECT count(*) FROM "t_pg_v1".retired_keys) FROM "t_pg_v1".schema_version`).Scan(&v, &n); err != nil || v < 2 {
		t.Fatalf("after the migration: version %d, %v", v, err)
	}
}

// dropV3 is the SQL that takes schema back to version 2's tables (the
// consent tables of migrations[2] and the table of migrations[4]
// dropped).
func dropV3(schema string) string {
	return strings.NewReplacer("{s}", `"`+schema+`"`).Replace(`DROP TABLE {s}.relying_parties, {s}.requests, {s}.grants, {s}.uses, {s}.receipts, {s}.durable_mark`)
}

// TestMigrateFromVersion2: a schema of version 2 (before 授权用证) is
// brought to the current version at open, keeping its data, and takes
// the consent state at once.
func TestMigrateFromVersion2(t *testing.T) {
	dsn := testDSN(t)
	s := openTest(t, dsn, "t_pg_v2")
	r := record("V2-1", "V2-H", 1, "")
	if _, err := insert(s, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, dropV3("t_pg_v2")+`; UPDATE "t_pg_v2".schema_version SET version = 2`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_v2"})
	if err != nil {
		t.Fatalf("opening a version-2 schema: %v", err)
	}
	defer s2.Close()
	var v int
	if err := s2.Pool().QueryRow(ctx, `SELECT version FROM "t_pg_v2".schema_version`).Scan(&v); err != nil || v != 5 {
		t.Fatalf("after the migration: version %d, %v", v, err)
	}
	if got, err := s2.Get("V2-1"); err != nil || got.Credential != "cred-V2-1" {
		t.Fatalf("the licence after the migration: %+v, %v", got, err)
	}
	req := &state.Request{ID: "r_v2", RP: "rp", JWS: "x.y.z", Expires: time.Now().Add(time.Minute)}
	if err := s2.PutRequest(req); err != nil {
		t.Fatal(err)
	}
	if err := s2.RefuseRequest("r_v2", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Request("r_v2"); err != nil || got.Answer != state.AnswerRefused {
		t.Fatalf("request after refusal: %+v, %v", got, err)
	}
	if rps, err := s2.RelyingParties(); err != nil || len(rps) != 0 {
		t.Fatalf("relying parties: %v, %v", rps, err)
	}
}

// TestOpenErrors: a DSN that does not parse, a refused connection and a
// missing database fail clearly, without the password.
func TestOpenErrors(t *testing.T) {
	testDSN(t)
	for _, c := range []struct {
		dsn         string
		unavailable bool
		says        string
	}{
		{"postgres://u:s3cret@127.0.0.1:notaport/x", false, "does not parse"},
		{"postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=2", true, "127.0.0.1"},
		{"host=127.0.0.1 port=1 user=u password=s3cret connect_timeout=2", true, "password=xxxxx"},
		{"postgres://postgres:s3cret@127.0.0.1:5432/no_such_db_here?sslmode=disable", false, "no_such_db_here"},
		{"mysql://u:s3cret@127.0.0.1/x", false, ""},
	} {
		_, err := pgstate.Open(ctx, c.dsn, pgstate.Options{})
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), c.says) || errors.Is(err, state.ErrUnavailable) != c.unavailable {
			t.Errorf("%s: %v", pgstate.Redact(c.dsn), err)
		}
	}
	if _, err := pgstate.Open(ctx, "postgres://127.0.0.1/x", pgstate.Options{Schema: "Bad-Name"}); err == nil {
		t.Error("a schema name that needs quoting was accepted")
	}
}

// TestShared: serials are reserved across stores; StatusSince follows
// changes in ledger order.
func TestShared(t *testing.T) {
	dsn := testDSN(t)
	a := openTest(t, dsn, "t_pg_shared")
	defer a.Close()
	f1, err := a.ReserveSerials(10)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := a.ReserveSerials(5)
	if err != nil || f2 != f1+10 {
		t.Fatalf("second reservation at %d (%v), first %d", f2, err, f1)
	}
	var ids []string
	for i := range 5 {
		r := record(fmt.Sprintf("S-%d", i), "S-1", uint64(i), "")
		if _, err := insert(a, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	var seen []string
	from := uint64(0)
	for range 10 {
		next, err := a.StatusSince(from, 2, func(r *state.Record) error { seen = append(seen, r.ID); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if next == from {
			break
		}
		from = next
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Fatalf("StatusSince saw %v, want %v", seen, ids)
	}
}

// TestText: strings PostgreSQL's text cannot hold (a NUL, invalid
// UTF-8) are never found, and a change carrying one fails alone,
// before the database sees it.
func TestText(t *testing.T) {
	dsn := testDSN(t)
	s := openTest(t, dsn, "t_pg_text")
	defer s.Close()
	for _, k := range []string{"a\x00b", "\xff"} {
		if _, err := s.Get(k); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Get(%q): %v", k, err)
		}
		if _, err := s.Seal(k); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Seal(%q): %v", k, err)
		}
		if recs, _, err := s.Search(state.Query{HolderCode: k}); err != nil || len(recs) != 0 {
			t.Errorf("Search(%q): %v %v", k, recs, err)
		}
		if err := s.RevokeToken(k, time.Now()); !errors.Is(err, pgstate.ErrText) {
			t.Errorf("RevokeToken(%q): %v", k, err)
		}
		// Invalid UTF-8 in the fields fails Prepare's JSON already.
		if _, err := insert(s, record(k, "A-1", 1, "")); !errors.Is(err, pgstate.ErrText) && (err == nil || !strings.Contains(err.Error(), "UTF-8")) {
			t.Errorf("insert %q: %v", k, err)
		}
	}
	if _, err := insert(s, record("A-1", "A-1", 1, "")); err != nil {
		t.Fatal(err)
	}
}

// TestWriteRefusedRunsAgain: Write (one process's path) turns a refusal
// found when the rows are written into the failing change's own error:
// apply runs again with that change failing at once, so a Log that
// knows only ApplyError fails that caller alone.
func TestWriteRefusedRunsAgain(t *testing.T) {
	dsn := testDSN(t)
	a := openTest(t, dsn, "t_pg_writeagain")
	defer a.Close()
	b, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_writeagain"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := insert(a, record("A-1", "A-1", 1, "")); err != nil {
		t.Fatal(err)
	}
	st, err := b.Ledger().State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Prepare(record("A-1", "A-1", 2, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	var at uint64
	bt, err := build([][]byte{[]byte("issue A-1 again")}, &at)(st.Size, b.Ledger())
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	err = b.Ledger().Write(ctx, bt, func(tx state.Tx) error { runs++; return tx.Insert(p, at) })
	var re *ledger.RejectedError
	if !errors.Is(err, state.ErrExists) || errors.As(err, &re) || runs != 2 {
		t.Fatalf("Write of a taken identifier: %v after %d runs of apply", err, runs)
	}
	if after, _ := b.Ledger().State(ctx); after.Size != st.Size {
		t.Fatalf("the refused batch wrote %d entries", after.Size-st.Size)
	}
}

// TestNotDurableRefused: a session whose commits are acknowledged
// before they are durable is refused.
func TestNotDurableRefused(t *testing.T) {
	dsn := testDSN(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	_, err := pgstate.Open(ctx, dsn+sep+"options=-c%20synchronous_commit%3Doff", pgstate.Options{Schema: "t_pg_notdurable"})
	if !errors.Is(err, pgstate.ErrNotDurable) || !strings.Contains(err.Error(), "synchronous_commit is off") {
		t.Fatalf("synchronous_commit off: %v", err)
	}
}

// TestLeadFrozen: a leader that stops calling (a frozen process, or one
// whose machine is gone, keeps its connection open) loses the lead
// within seconds, to a store that keeps asking.
func TestLeadFrozen(t *testing.T) {
	dsn := testDSN(t)
	a := openTest(t, dsn, "t_pg_frozen")
	b, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_frozen"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ok, err := shared(a).Lead(ctx); !ok || err != nil {
		t.Fatalf("a does not lead: %v", err)
	}
	start := time.Now()
	for {
		if ok, _ := shared(b).Lead(ctx); ok {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("b did not take the lead from a leader that stopped calling")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("b took the lead %v after a stopped calling", time.Since(start).Round(100*time.Millisecond))
	if ok, _ := shared(a).Lead(ctx); ok {
		t.Fatal("a still leads")
	}
}

// TestTokenRevokedAcrossStores: a revocation through one store is seen
// by it at once and by another within a second.
func TestTokenRevokedAcrossStores(t *testing.T) {
	dsn := testDSN(t)
	a := openTest(t, dsn, "t_pg_tokens")
	b, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: "t_pg_tokens"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, s := range []*pgstate.Store{a, b} {
		if ok, err := s.TokenRevoked("jti-x"); ok || err != nil {
			t.Fatalf("before: %v %v", ok, err)
		}
	}
	if err := a.RevokeToken("jti-x", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.TokenRevoked("jti-x"); !ok || err != nil {
		t.Fatalf("the revoking store: %v %v", ok, err)
	}
	start := time.Now()
	for ok := false; !ok; {
		var err error
		if ok, err = b.TokenRevoked("jti-x"); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) > 1500*time.Millisecond {
			t.Fatal("the other store does not see the revocation after 1.5 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFenceKey: a fenced key's licences are refused at once; a fence
// is lifted only past its age and never once the key's retirement
// replaced it.
func TestFenceKey(t *testing.T) {
	s := openTest(t, testDSN(t), "t_pg_fence")
	defer s.Close()
	const kid = "0102030405060708"
	signed := func(id string, idx uint64) *state.Record {
		r := record(id, "F-1", idx, "")
		b, _ := hex.DecodeString(kid)
		r.Holding = &qr.Holding{Core: []byte("core " + id), KeyID: b, IssuerSig: []byte("sig"), Credential: r.CredentialHash}
		return r
	}
	if _, err := insert(s, signed("F-0", 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.FenceKey(kid); err != nil {
		t.Fatal(err)
	}
	if _, err := insert(s, signed("F-1", 1)); !errors.Is(err, state.ErrKeyRetired) {
		t.Fatalf("a licence of a fenced key: %v, want ErrKeyRetired", err)
	}
	if kids, err := s.RetiredKeys(); err != nil || len(kids) != 1 || kids[0] != kid {
		t.Fatalf("RetiredKeys = %v, %v; want the fenced key", kids, err)
	}
	if lifted, err := s.UnfenceKey(kid, time.Hour); err != nil || lifted {
		t.Fatalf("UnfenceKey(an hour) of a fresh fence = %v, %v; want false", lifted, err)
	}
	if lifted, err := s.UnfenceKey(kid, 0); err != nil || !lifted {
		t.Fatalf("UnfenceKey(0) = %v, %v; want true", lifted, err)
	}
	if _, err := insert(s, signed("F-2", 2)); err != nil {
		t.Fatalf("a licence after the fence was lifted: %v", err)
	}
	// Fenced, then retired: the retirement stays.
	if err := s.FenceKey(kid); err != nil {
		t.Fatal(err)
	}
	var at uint64
	if err := shared(s).WriteLocked(ctx, build([][]byte{[]byte("rotate")}, &at), func(tx state.Tx) error { return tx.RetireKey(kid, at) }); err != nil {
		t.Fatal(err)
	}
	if lifted, err := s.UnfenceKey(kid, 0); err != nil || lifted {
		t.Fatalf("UnfenceKey of a retired key = %v, %v; want false", lifted, err)
	}
	if _, err := insert(s, signed("F-3", 3)); !errors.Is(err, state.ErrKeyRetired) {
		t.Fatalf("a licence of the retired key: %v, want ErrKeyRetired", err)
	}
	for id, want := range map[string]bool{"F-0": true, "F-1": false, "F-2": true, "F-3": false} {
		if _, err := s.Get(id); (err == nil) != want {
			t.Errorf("%s: %v, want it stored: %v", id, err, want)
		}
	}
}

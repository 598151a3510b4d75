package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"elicense/internal/gm"
)

func open(t *testing.T) *Store {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func record(i int, holder, class string) *Record {
	h := gm.SM3([]byte(fmt.Sprint(i)))
	return &Record{ID: fmt.Sprintf("id-%03d", i), Class: class, Agency: "A", HolderCode: holder, Status: StatusValid, CredentialHash: hex.EncodeToString(h[:])}
}

// insert writes r as the server does, at ledger index idx.
func insert(t *testing.T, s *Store, r *Record, idx uint64, claimHash [32]byte, claim *Claim) error {
	t.Helper()
	fn, err := s.Insert(r, claimHash, claim)
	if err != nil {
		t.Fatal(err)
	}
	return s.db.Update(func(tx *bolt.Tx) error { return fn(tx, idx) })
}

func TestInsertApply(t *testing.T) {
	s := open(t)
	a, b := record(1, "H1", "c1"), record(2, "H1", "c1")
	a.ImportKey = "row-1"
	code := gm.SM3([]byte("code"))
	if err := insert(t, s, a, 7, code, &Claim{LicenceID: a.ID, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := insert(t, s, a, 8, [32]byte{}, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second insert of the same ID: %v", err)
	}
	b.ImportKey = "row-1"
	if err := insert(t, s, b, 8, [32]byte{}, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("insert with a taken import key: %v", err)
	}
	if _, err := s.Get(b.ID); !errors.Is(err, ErrNotFound) {
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
	if c, err := s.UseClaim(code); err != nil || c.LicenceID != a.ID {
		t.Fatalf("claim stored with the record: %+v %v", c, err)
	}
	// A change older than the record's last event is ignored.
	if err := s.Apply(Change{ID: a.ID, Status: StatusRevoked, LedgerIndex: 5}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(a.ID); got.Status != StatusValid {
		t.Fatal("an older event overwrote a newer one")
	}
	if err := s.Apply(Change{ID: a.ID, Status: StatusRevoked, Reason: "吊销", LedgerIndex: 9}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(a.ID); got.Status != StatusRevoked || got.LastEvent != 10 {
		t.Fatalf("applied change: %+v", got)
	}
	if w, _ := s.Watermark(); w != 10 {
		t.Fatalf("watermark %d after a change at 9", w)
	}
	// A device copy is listed on its licence.
	cp := record(3, "H1", "c1")
	cp.ID, cp.CopyOf = a.ID+"#dev", a.ID
	if err := insert(t, s, cp, 11, [32]byte{}, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(a.ID); len(got.Copies) != 1 || got.Copies[0] != cp.ID {
		t.Fatalf("copies of the licence: %v", got.Copies)
	}
}

func TestSearchPaging(t *testing.T) {
	s := open(t)
	for i := range 25 {
		holder, class := "H1", "c1"
		if i%2 == 1 {
			holder, class = "H2", "c2"
		}
		if err := insert(t, s, record(i, holder, class), uint64(i), [32]byte{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	after := ""
	for {
		recs, next, err := s.Search(Query{HolderCode: "H1", Limit: 5, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			all = append(all, r.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(all) != 13 || all[0] != "id-000" || all[12] != "id-024" {
		t.Fatalf("holder H1 pages: %v", all)
	}
	recs, _, _ := s.Search(Query{Class: "c2", Limit: 100})
	if len(recs) != 12 {
		t.Fatalf("class c2: %d", len(recs))
	}
}

func TestClaims(t *testing.T) {
	s := open(t)
	h := gm.SM3([]byte("code"))
	if err := s.PutClaim(h, Claim{LicenceID: "x", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.UseClaim(h); err != nil || c.LicenceID != "x" {
		t.Fatalf("first use: %v", err)
	}
	if _, err := s.UseClaim(h); !errors.Is(err, ErrExists) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := s.UseClaim(gm.SM3([]byte("other"))); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown code: %v", err)
	}
}

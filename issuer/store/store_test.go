package store

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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

func TestPendingCommitDrop(t *testing.T) {
	s := open(t)
	a, b := record(1, "H1", "c1"), record(2, "H1", "c1")
	a.ImportKey = "row-1"
	if err := s.PutPending(a, [32]byte{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPending(a, [32]byte{}, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second put of the same ID: %v", err)
	}
	if err := s.PutPending(b, [32]byte{}, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Pending()
	if len(p) != 2 {
		t.Fatalf("%d pending", len(p))
	}
	if err := s.Commit(mustHash(a), 7); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(a.ID)
	if got.Pending || got.LedgerIndex != 7 || got.LastEvent != 8 {
		t.Fatalf("committed record %+v", got)
	}
	if r, err := s.ByImportKey("A", "row-1"); err != nil || r.ID != a.ID {
		t.Fatalf("import key: %v", err)
	}
	if err := s.Drop(mustHash(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(b.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dropped record: %v", err)
	}
	if p, _ := s.Pending(); len(p) != 0 {
		t.Fatalf("%d pending after commit and drop", len(p))
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
}

func mustHash(r *Record) [32]byte {
	b, _ := hex.DecodeString(r.CredentialHash)
	return [32]byte(b)
}

func TestSearchPaging(t *testing.T) {
	s := open(t)
	for i := range 25 {
		holder, class := "H1", "c1"
		if i%2 == 1 {
			holder, class = "H2", "c2"
		}
		r := record(i, holder, class)
		if err := s.PutPending(r, [32]byte{}, nil); err != nil {
			t.Fatal(err)
		}
		s.Commit(mustHash(r), uint64(i))
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

func TestClaimsAndBackup(t *testing.T) {
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
	var buf bytes.Buffer
	if n, err := s.Backup(&buf); err != nil || n == 0 || int64(buf.Len()) != n {
		t.Fatalf("backup: %d %v", n, err)
	}
	path := filepath.Join(t.TempDir(), "restored.db")
	if err := writeFile(path, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, nil)
	if err != nil {
		t.Fatalf("backup does not open: %v", err)
	}
	defer r.Close()
	if _, err := r.UseClaim(h); !errors.Is(err, ErrExists) {
		t.Fatalf("restored claim: %v", err)
	}
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }

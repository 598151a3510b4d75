package boltstate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	json "github.com/go-json-experiment/json"
	bolt "go.etcd.io/bbolt"

	"elicense/issuer/state"
)

// auditCases are audit records as the service makes them, and values
// the hand-written encoder must hand to json.
var auditCases = []map[string]string{
	nil,
	{},
	{"operator": "clerk-110000-0001"},
	{"device": "02a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"},
	{"holder_code": "91310000MA1FL8XQ3X", "holder_name": "上海某某科技有限公司", "operator": "admin"},
	{"holder_name": "", "operator": "elicense migrate-ledger", "holder_code": "H1"},
	{"operator": `a "quoted" name`},
	{"operator": `back\slash`},
	{"operator": "tab\tand\nnewline\x00"},
	{"operator": "<html>&amp;\u2028\u2029\x7f"},
	{"operator": "invalid \xff UTF-8"},
	{"名": "值", "a": "1", "b": "2", "c": "3", "d": "4", "e": "5"},
}

// TestEncodeAudit: audit records are json's deterministic encoding byte
// for byte (they are read back with json), or json's error.
func TestEncodeAudit(t *testing.T) {
	for _, m := range auditCases {
		want, wantErr := json.Marshal(m, json.Deterministic(true))
		got, err := encodeAudit(m)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Errorf("encodeAudit(%q) = %q, %v; json: %q, %v", m, got, err, want, wantErr)
		}
	}
}

func FuzzEncodeAudit(f *testing.F) {
	f.Add("operator", "clerk", "holder_name", "某公司")
	f.Add("operator", "a\"b", "", "\xff")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		m := map[string]string{k1: v1, k2: v2}
		want, wantErr := json.Marshal(m, json.Deterministic(true))
		got, err := encodeAudit(m)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("encodeAudit(%q) = %q, %v; json: %q, %v", m, got, err, want, wantErr)
		}
	})
}

func BenchmarkEncodeAudit(b *testing.B) {
	m := map[string]string{"operator": "clerk-110000-0001"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeAudit(m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAuditBesideCredentials: an issuance's audit record shares its
// ledger index with its credential without either hiding the other, and
// records in the audit bucket of earlier builds are still read.
func TestAuditBesideCredentials(t *testing.T) {
	s := open(t)
	r := blobRecord()
	p, err := s.Prepare(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(btx *bolt.Tx) error {
		return s.inTx(btx, func(stx state.Tx) error {
			if err := stx.Insert(p, 7); err != nil {
				return err
			}
			return stx.PutAudit(7, map[string]string{"operator": "clerk"})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := s.Audit(7); err != nil || len(a) != 1 || a["operator"] != "clerk" {
		t.Fatalf("audit record: %v, %v", a, err)
	}
	got, err := s.Get(r.ID)
	if err != nil || got.Credential != r.Credential {
		t.Fatalf("credential beside an audit record: %v", err)
	}
	if _, err := s.Audit(8); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("audit record of an event without one: %v", err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketAudit)
		if err != nil {
			return err
		}
		return b.Put(binary.BigEndian.AppendUint64(nil, 9), []byte(`{"holder_code":"H1"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := s.Audit(9); err != nil || a["holder_code"] != "H1" {
		t.Fatalf("audit record of an earlier build: %v, %v", a, err)
	}
	if a, err := s.Audit(7); err != nil || a["operator"] != "clerk" {
		t.Fatalf("audit record with the old bucket present: %v, %v", a, err)
	}
}

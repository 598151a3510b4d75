package status

import (
	"crypto/ecdsa"
	"errors"
	"testing"
	"time"

	"elicense/certs/statuslist"
	"elicense/internal/gm"
	"elicense/issuer/state"
)

const agency = "11310000PDY100010H"

func newManager(t *testing.T, size int) (*Manager, *gm.PrivateKey) {
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return New(Options{BaseURL: "http://127.0.0.1:1", ListSize: size, Signer: k, KeyID: "kid1", Agencies: []string{agency}}), k
}

func parse(t *testing.T, m *Manager, k *gm.PrivateKey, id string) *statuslist.Signed {
	doc, etag, ok := m.StatusList(id)
	if !ok || etag == "" {
		t.Fatalf("list %s not published", id)
	}
	s, err := statuslist.Parse(string(doc), statuslist.VerifyOptions{
		Keys: func(kid string) []*ecdsa.PublicKey { return []*ecdsa.PublicKey{k.PublicKey()} },
		URI:  m.URI(id), Now: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAllocateSetPublish(t *testing.T) {
	m, k := newManager(t, 128)
	seen := map[uint64]bool{}
	var id string
	for range 128 {
		l, idx, err := m.Allocate(agency)
		if err != nil {
			t.Fatal(err)
		}
		if seen[idx] && l == id {
			t.Fatalf("position %d handed out twice", idx)
		}
		id = l
		seen[idx] = true
	}
	if id != "0010H1" {
		t.Fatalf("first list %q", id)
	}
	// The 129th opens a second list.
	l2, _, err := m.Allocate(agency)
	if err != nil || l2 != "0010H2" {
		t.Fatalf("second list %q, %v", l2, err)
	}
	before := parse(t, m, k, id)
	_, etag1, _ := m.StatusList(id)
	if err := m.Set(id, 5, state.StatusRevoked); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(id, 6, state.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	after := parse(t, m, k, id)
	_, etag2, _ := m.StatusList(id)
	if etag1 == etag2 || after.Version <= before.Version {
		t.Fatalf("a change did not make a new version (%d → %d)", before.Version, after.Version)
	}
	for idx, want := range map[int]statuslist.Status{5: statuslist.Revoked, 6: statuslist.Suspended, 7: statuslist.Valid} {
		if got, _ := after.Status(idx); got != want {
			t.Errorf("position %d: %v, want %v", idx, got, want)
		}
	}
	if _, _, ok := m.StatusList("nope1"); ok {
		t.Fatal("unknown list published")
	}
}

func TestRestore(t *testing.T) {
	m, k := newManager(t, 64)
	// Restoring from records creates the lists with their owners.
	if err := m.Set("0010H3", 9, state.StatusSuperseded); err != nil {
		t.Fatal(err)
	}
	if err := m.Set("ZZZZZ1", 1, state.StatusValid); !errors.Is(err, ErrUnknownList) {
		t.Fatalf("list of an unknown agency: %v", err)
	}
	if got, _ := parse(t, m, k, "0010H3").Status(9); got != statuslist.Superseded {
		t.Fatalf("restored position: %v", got)
	}
	// New positions come from the restored list, never position 9.
	for range 63 {
		id, idx, err := m.Allocate(agency)
		if err != nil || id != "0010H3" || idx == 9 {
			t.Fatalf("allocate after restore: %s %d %v", id, idx, err)
		}
	}
	if id, _, _ := m.Allocate(agency); id != "0010H4" {
		t.Fatalf("after the restored list filled: %s", id)
	}
	if ls := m.Lists(); len(ls) != 2 || ls[0].Agency != agency {
		t.Fatalf("lists %+v", ls)
	}
}

func TestDelta(t *testing.T) {
	m, k := newManager(t, 4096)
	id, _, _ := m.Allocate(agency)
	base := parse(t, m, k, id)
	for _, idx := range []uint64{3, 700, 4000} {
		if err := m.Set(id, idx, state.StatusRevoked); err != nil {
			t.Fatal(err)
		}
	}
	full := parse(t, m, k, id)
	doc, err := m.StatusDelta(id, base.Version)
	if err != nil {
		t.Fatal(err)
	}
	opts := statuslist.VerifyOptions{URI: m.URI(id), Keys: func(string) []*ecdsa.PublicKey { return []*ecdsa.PublicKey{k.PublicKey()} }}
	d, err := statuslist.ParseDelta(doc, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := statuslist.Apply(base, d)
	if err != nil {
		t.Fatal(err)
	}
	if !got.List.Equal(full.List) || got.Version != full.Version || len(d.Changes) != 3 {
		t.Fatalf("delta gives version %d (%d changes), want the full list's %d", got.Version, len(d.Changes), full.Version)
	}
	if _, err := m.StatusDelta(id, 12345); !errors.Is(err, ErrNoDelta) {
		t.Fatalf("delta from an unknown version: %v", err)
	}
	if _, err := m.StatusDelta("nope1", base.Version); !errors.Is(err, ErrUnknownList) {
		t.Fatalf("delta of an unknown list: %v", err)
	}
}

// A counter holding the current version is told so; a re-signature for
// freshness is a new version reached by an empty delta.
func TestUnchangedAndResign(t *testing.T) {
	k, err := gm.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	m := New(Options{BaseURL: "http://127.0.0.1:1", ListSize: 64, Signer: k, KeyID: "kid1", Agencies: []string{agency},
		Validity: time.Hour, Now: func() time.Time { return now }})
	id, _, _ := m.Allocate(agency)
	held := parse(t, m, k, id)
	if info := m.Lists(); len(info) != 1 || info[0].Version != held.Version {
		t.Fatalf("Lists %+v, published version %d", info, held.Version)
	}
	if _, err := m.StatusDelta(id, held.Version); !errors.Is(err, ErrUnchanged) {
		t.Fatalf("delta from the current version: %v", err)
	}
	now = now.Add(31 * time.Minute) // past half the validity: re-signed
	doc, err := m.StatusDelta(id, held.Version)
	if err != nil {
		t.Fatalf("delta to the re-signed list: %v", err)
	}
	opts := statuslist.VerifyOptions{URI: m.URI(id), Now: now, Keys: func(string) []*ecdsa.PublicKey { return []*ecdsa.PublicKey{k.PublicKey()} }}
	d, err := statuslist.ParseDelta(doc, opts)
	if err != nil {
		t.Fatal(err)
	}
	next, err := statuslist.Apply(held, d)
	if err != nil || len(d.Changes) != 0 || next.Version <= held.Version || !next.IssuedAt.Equal(now) {
		t.Fatalf("re-signature by delta: %v, %d changes, v%d → v%d, iat %v", err, len(d.Changes), held.Version, next.Version, next.IssuedAt)
	}
	if full := parse(t, m, k, id); full.Version != next.Version {
		t.Fatalf("full list v%d, delta gave v%d", full.Version, next.Version)
	}
	if _, err := m.StatusDelta(id, next.Version); !errors.Is(err, ErrUnchanged) {
		t.Fatalf("delta from the re-signed version: %v", err)
	}
}

package status

import (
	"errors"
	"testing"

	"elicense/issuer/state"
)

// fill allocates n positions across lists of m and gives every third a
// status other than valid.
func fill(t *testing.T, m *Manager, n int) {
	t.Helper()
	states := []state.Status{state.StatusValid, state.StatusRevoked, state.StatusSuspended, state.StatusSuperseded}
	for i := range n {
		l, idx, err := m.Allocate(agency)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Set(l, idx, states[i%len(states)]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSnapshotRestore(t *testing.T) {
	m, k := newManager(t, 128)
	fill(t, m, 300) // three lists, the last partly used
	snap, err := m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r, _ := newManager(t, 128)
	r.o.Signer = k
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	for _, info := range m.Lists() {
		want, got := parse(t, m, k, info.ID), parse(t, r, k, info.ID)
		if !want.List.Equal(got.List) {
			t.Errorf("list %s differs after restore", info.ID)
		}
		if r.lists[info.ID].alloc.Used() != m.lists[info.ID].alloc.Used() {
			t.Errorf("list %s: %d positions used after restore, want %d", info.ID, r.lists[info.ID].alloc.Used(), m.lists[info.ID].alloc.Used())
		}
	}
	// New positions come from the partly used list, never a used one.
	for range 3*128 - 300 { // what is left of the third list
		l, idx, err := r.Allocate(agency)
		if err != nil {
			t.Fatal(err)
		}
		if m.lists[l] != nil && m.lists[l].alloc.IsUsed(int(idx)) {
			t.Fatalf("restored allocator handed out used position %s/%d", l, idx)
		}
	}
	if l, _, _ := r.Allocate(agency); l != "0010H4" {
		t.Fatalf("after filling the third list, the next is %q", l)
	}
}

func TestRestoreRefusesDamage(t *testing.T) {
	m, k := newManager(t, 128)
	fill(t, m, 200)
	snap, _ := m.Snapshot()
	other, _ := newManager(t, 256)
	for name, data := range map[string][]byte{
		"empty":          nil,
		"version":        append([]byte{9}, snap[1:]...),
		"truncated":      snap[:len(snap)-1],
		"trailing bytes": append(append([]byte{}, snap...), 0),
	} {
		r, _ := newManager(t, 128)
		r.o.Signer = k
		fill(t, r, 5)
		before, _ := r.Snapshot()
		if err := r.Restore(data); !errors.Is(err, ErrSnapshot) {
			t.Errorf("%s: %v, want ErrSnapshot", name, err)
		}
		if after, _ := r.Snapshot(); string(after) != string(before) {
			t.Errorf("%s: a refused snapshot changed the lists", name)
		}
	}
	if err := other.Restore(snap); !errors.Is(err, ErrSnapshot) {
		t.Errorf("another list size: %v", err)
	}
}

func FuzzRestore(f *testing.F) {
	m := New(Options{ListSize: 64, Agencies: []string{agency}})
	for range 100 {
		m.Allocate(agency)
	}
	snap, _ := m.Snapshot()
	f.Add(snap)
	f.Add([]byte{1, 64, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := New(Options{ListSize: 64, Agencies: []string{agency}})
		if err := r.Restore(data); err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("error %v is not ErrSnapshot", err)
			}
			return
		}
		again, err := r.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		r2 := New(Options{ListSize: 64, Agencies: []string{agency}})
		if err := r2.Restore(again); err != nil {
			t.Fatalf("a snapshot of a restored manager does not restore: %v", err)
		}
	})
}

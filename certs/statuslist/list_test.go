package statuslist

import (
	"encoding/base64"
	"errors"
	"testing"
)

// TestDraftExample checks the bit order against the two-bit example of
// draft-ietf-oauth-status-list (section "Status List", bits 2).
func TestDraftExample(t *testing.T) {
	statuses := []Status{1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3}
	l := New(len(statuses))
	for i, s := range statuses {
		if err := l.Set(i, s); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := l.Bytes(), []byte{0xc9, 0x44, 0xf9}; string(got) != string(want) {
		t.Fatalf("packed bytes %x, want %x", got, want)
	}
	z, err := base64.RawURLEncoding.DecodeString("eNo76fITAAPfAgc") // the draft's lst
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeList(z, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Equal(l) {
		t.Fatalf("decoded %x, want %x", d.Bytes(), l.Bytes())
	}
	for i, want := range statuses {
		if got, _ := d.Get(i); got != want {
			t.Errorf("entry %d = %v, want %v", i, got, want)
		}
	}
}

func TestListGetSet(t *testing.T) {
	l := New(10)
	if l.Len() != 12 {
		t.Fatalf("Len = %d, want 12 (rounded up to whole bytes)", l.Len())
	}
	if New(0).Len() != 0 {
		t.Fatal("New(0) is not empty")
	}
	for i := 0; i < l.Len(); i++ {
		if err := l.Set(i, Status(i%4)); err != nil {
			t.Fatal(err)
		}
	}
	// Overwrite in every position, both directions.
	for i := 0; i < l.Len(); i++ {
		for _, s := range []Status{Superseded, Valid, Suspended, Revoked} {
			if err := l.Set(i, s); err != nil {
				t.Fatal(err)
			}
			if got, err := l.Get(i); err != nil || got != s {
				t.Fatalf("Get(%d) = %v, %v; want %v", i, got, err, s)
			}
		}
		for j := 0; j < l.Len(); j++ {
			if j == i {
				continue
			}
			want := Status(j % 4)
			if j < i {
				want = Revoked
			}
			if got, _ := l.Get(j); got != want {
				t.Fatalf("after setting %d, entry %d = %v, want %v", i, j, got, want)
			}
		}
	}
	if got := l.Count(); got != [4]int{0, 12, 0, 0} {
		t.Errorf("Count = %v", got)
	}
	for _, idx := range []int{-1, 12, 1 << 40} {
		if _, err := l.Get(idx); err != ErrIndex {
			t.Errorf("Get(%d) error %v, want ErrIndex", idx, err)
		}
		if err := l.Set(idx, Revoked); !errors.Is(err, ErrIndex) {
			t.Errorf("Set(%d) error %v, want ErrIndex", idx, err)
		}
	}
	if err := l.Set(0, 4); !errors.Is(err, ErrInvalidStatus) {
		t.Errorf("Set(0, 4) error %v, want ErrInvalidStatus", err)
	}
	c := l.Clone()
	_ = c.Set(0, Valid)
	if l.Equal(c) || l.Digest() == c.Digest() {
		t.Error("Clone shares storage with the original")
	}
	b := l.Bytes()
	b[0] = 0
	if got, _ := l.Get(0); got != Revoked {
		t.Error("Bytes shares storage with the list")
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{Valid: "valid", Revoked: "revoked", Suspended: "suspended", Superseded: "superseded", 9: "Status(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
}

func TestGetDoesNotAllocate(t *testing.T) {
	l := New(1000)
	_ = l.Set(7, Revoked)
	if n := testing.AllocsPerRun(100, func() {
		_, _ = l.Get(7)
		_, _ = l.Get(5000)
	}); n != 0 {
		t.Errorf("Get allocates %v times", n)
	}
}

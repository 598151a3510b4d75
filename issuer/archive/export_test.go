package archive

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
)

// fakeLedger is a ledger.Reader over entries and stored checkpoints.
type fakeLedger struct {
	entries     [][]byte
	checkpoints map[uint64][]byte
}

func (f *fakeLedger) State(context.Context) (ledger.State, error) {
	return ledger.State{Size: uint64(len(f.entries))}, nil
}

func (f *fakeLedger) Entries(_ context.Context, start, end uint64, fn func(uint64, []byte) error) error {
	for i := start; i < end; i++ {
		if err := fn(i, f.entries[i]); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeLedger) Hashes(context.Context, []uint64, []tlog.Hash) error { return nil }

func (f *fakeLedger) Checkpoints(_ context.Context, from uint64, fn func(uint64, []byte) error) error {
	var sizes []uint64
	for s := range f.checkpoints {
		if s >= from {
			sizes = append(sizes, s)
		}
	}
	slices.Sort(sizes)
	for _, s := range sizes {
		if err := fn(s, f.checkpoints[s]); err != nil {
			if errors.Is(err, ledger.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// TestScanAndCheckpoint: a version's events are its own, its copies'
// and (for the superseded one) its re-issue's; other agencies' and
// other kinds' are not; the checkpoint is the first stored one covering
// what is needed.
func TestScanAndCheckpoint(t *testing.T) {
	k, _ := ledgerevent.NewAuditKey(bytes.Repeat([]byte{1}, ledgerevent.AuditKeySize))
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	enc := func(e ledgerevent.Event) []byte {
		b, err := ledgerevent.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	f := &fakeLedger{entries: [][]byte{
		enc(k.Issue(ledgerevent.Issue{Time: t0, Agency: "A", ID: "L1"}, "op")),
		enc(k.Issue(ledgerevent.Issue{Time: t0, Agency: "B", ID: "M1"}, "op")),
		enc(k.Claim(ledgerevent.Claim{Time: t0, Agency: "A", ID: "L1#0011223344556677"}, []byte{2})),
		enc(k.Reissue(ledgerevent.Reissue{Time: t0, Agency: "A", ID: "L2", Supersedes: "L1", From: ledgerevent.StatusValid, Reason: "变更"}, "op")),
		enc(k.KeyRotated(ledgerevent.KeyRotated{Time: t0, Agency: "A", KeyID: "k2", Previous: "k1"}, "op")),
	}, checkpoints: map[uint64][]byte{2: []byte("cp2"), 4: []byte("cp4"), 5: []byte("cp5")}}
	got := map[uint64][]string{}
	err := scan(context.Background(), f, uint64(len(f.entries)), "A", func(i uint64, _ time.Time, ids []string) { got[i] = ids })
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64][]string{0: {"L1"}, 2: {"L1"}, 3: {"L2", "L1"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i, ids := range want {
		if !slices.Equal(got[i], ids) {
			t.Errorf("entry %d: %v, want %v", i, got[i], ids)
		}
	}
	for _, tc := range []struct {
		need, size uint64
		note       string
	}{{0, 2, "cp2"}, {2, 2, "cp2"}, {3, 4, "cp4"}, {5, 5, "cp5"}} {
		size, note, err := checkpointFrom(context.Background(), f, tc.need)
		if err != nil || size != tc.size || string(note) != tc.note {
			t.Errorf("need %d: %d %q %v", tc.need, size, note, err)
		}
	}
	if _, _, err := checkpointFrom(context.Background(), f, 6); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("need 6: %v", err)
	}
}

// A period that has not ended is refused before anything is written.
func TestExportPeriodNotEnded(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	for _, tc := range []struct {
		name     string
		from, to time.Time
	}{
		{"ends after now", now.Add(-24 * time.Hour), now.Add(time.Second)},
		{"starts after now", now.Add(time.Hour), now.Add(2 * time.Hour)},
	} {
		_, err := Export(context.Background(), &buf, Source{}, Options{Agency: "A", From: tc.from, To: tc.to, Now: now})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "after now") || buf.Len() != 0 {
			t.Errorf("%s: %v, %d bytes written", tc.name, err, buf.Len())
		}
	}
}

// ParseDate reads RFC 3339 and days (China time) from 1970 to 9999 in
// UTC, and refuses the rest with the reason.
func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // UTC, RFC 3339; "" refused
	}{
		{"2026-01-01", "2025-12-31T16:00:00Z"},
		{"2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"},
		{"1970-01-01", "1969-12-31T16:00:00Z"},
		{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"},
		{"0000-01-01", ""},
		{"1969-12-31", ""},
		{"1969-12-31T15:59:59Z", ""},
		{"9999-12-31T23:00:00-23:00", ""},
		{"2026-13-01", ""},
		{"January", ""},
	} {
		got, err := ParseDate(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%s: accepted as %v", tc.in, got)
		case tc.want != "" && (err != nil || got.UTC().Format(time.RFC3339) != tc.want):
			t.Errorf("%s: %v %v, want %s", tc.in, got, err, tc.want)
		}
	}
}

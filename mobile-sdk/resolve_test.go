package mobilesdk

import (
	"errors"
	"strings"
	"testing"
)

func TestPickCopy(t *testing.T) {
	const (
		bl  = "1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20261125ABCD1234.001.B"
		dl  = "1.2.156.3005.2.11310000MB2F04781Q001.11310000MB2F04781Q.20261125QWER5678.001.7"
		bl2 = "1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20261125ABCD1234.002.K"
	)
	list := []*Licence{
		{ID: bl + "#41ba83a46660b491", CopyOf: bl},
		{ID: dl + "#41ba83a46660b491", CopyOf: dl},
		{ID: bl2 + "#41ba83a46660b491", CopyOf: bl2},      // re-issued: a licence of its own
		{ID: dl + "#0badc0ffee000001", CopyOf: dl},        // claimed again after an unbind
		{ID: "legacy.001.X#77aa55aa00000000"},             // stored without copy_of
		{ID: "12#00000000000000aa", CopyOf: "12"},         // a digits-only identifier loses to the index
		{ID: bl + "x#1111111111111111", CopyOf: bl + "x"}, // an identifier that bl is a prefix of
	}
	for _, tc := range []struct {
		name, ref string
		want      int   // position, when err is nil
		err       error // the sentinel it matches
	}{
		{"copy identifier", dl + "#0badc0ffee000001", 3, nil},
		{"licence identifier", bl, 0, nil},
		{"re-issued licence's identifier", bl2, 2, nil},
		{"not a prefix of a longer identifier", bl + "x", 6, nil},
		{"identifier of a copy stored without copy_of", "legacy.001.X", 4, nil},
		{"index 1", "1", 0, nil},
		{"index 7", "7", 6, nil},
		{"index with a leading zero", "03", 2, nil},
		{"digits are an index first", "12", 0, ErrNotFound},
		{"digits-only copy identifier", "12#00000000000000aa", 5, nil},
		{"index 0", "0", 0, ErrNotFound},
		{"index past the end", "8", 0, ErrNotFound},
		{"signed number", "+1", 0, ErrNotFound},
		{"negative number", "-1", 0, ErrNotFound},
		{"two copies of one licence", dl, 0, ErrAmbiguous},
		{"unknown identifier", "1.2.156.3005.2.nope", 0, ErrNotFound},
		{"unknown copy", bl + "#ffffffffffffffff", 0, ErrNotFound},
		{"part of an identifier", bl[:20], 0, ErrNotFound},
		{"device tag alone", "41ba83a46660b491", 0, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickCopy(tc.ref, list)
			switch {
			case tc.err == nil && (err != nil || got != tc.want):
				t.Errorf("pickCopy(%q) = %d, %v; want %d", tc.ref, got, err, tc.want)
			case tc.err != nil && !errors.Is(err, tc.err):
				t.Errorf("pickCopy(%q) = %d, %v; want %v", tc.ref, got, err, tc.err)
			}
		})
	}
	_, err := pickCopy(dl, list)
	var ae *AmbiguousError
	if !errors.As(err, &ae) || ae.Indexes != "2,4" || ae.IDs != list[1].ID+","+list[3].ID || !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("ambiguous: %#v", err)
	}
	if zh := ErrorMessage(err, "zh"); !strings.Contains(zh, "列表序号 2、4") || !strings.Contains(zh, "请用序号") {
		t.Errorf("ambiguous, zh: %q", zh)
	}
	if _, err := pickCopy(bl, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty wallet: %v", err)
	}
}

// TestResolve: every method taking a licence ID takes the holder's names
// for it, and the list numbers licences in the order claimed.
func TestResolve(t *testing.T) {
	const lic = "1.2.156.3005.2.x.001.B"
	rec := func(id, copyOf string, claimed int64) *record {
		r := testRecord(id)
		r.CopyOf, r.ClaimedAt, r.Status = copyOf, claimed, StatusValid
		return r
	}
	// Claimed in the order c, a, b: the list follows it, not the IDs.
	w := statusWallet(t, rec("b.001.1#aa", "b.001.1", 300), rec(lic+"#aa", lic, 100), rec("a.001.1#aa", "a.001.1", 200))
	l, err := w.List()
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for i := range l.Len() {
		if l.At(i).Index != i+1 {
			t.Errorf("At(%d).Index = %d", i, l.At(i).Index)
		}
		order = append(order, l.At(i).ID)
	}
	if got := strings.Join(order, " "); got != lic+"#aa a.001.1#aa b.001.1#aa" {
		t.Errorf("list order %s", got)
	}
	for _, ref := range []string{lic, lic + "#aa", "1", " 1 "} {
		if id, err := w.Resolve(ref); err != nil || id != lic+"#aa" {
			t.Errorf("Resolve(%q) = %q, %v", ref, id, err)
		}
		if g, err := w.Get(ref); err != nil || g.ID != lic+"#aa" || g.Index != 1 {
			t.Errorf("Get(%q) = %+v, %v", ref, g, err)
		}
		if _, err := w.Credential(ref); err != nil {
			t.Errorf("Credential(%q): %v", ref, err)
		}
		// Present reaches the holding, which the test record's is not a
		// real one of: a presentation error, not ErrNotFound.
		if _, err := w.Present(ref, "", 0); errors.Is(err, ErrNotFound) {
			t.Errorf("Present(%q): %v", ref, err)
		}
	}
	if _, err := w.Resolve(""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Resolve(\"\"): %v", err)
	}
	if err := w.Delete("2"); err != nil {
		t.Fatal(err)
	}
	if id, err := w.Resolve("2"); err != nil || id != "b.001.1#aa" {
		t.Errorf("after deleting number 2, number 2 is %q, %v", id, err)
	}
	if _, err := w.Get("a.001.1"); !errors.Is(err, ErrNotFound) || Reason(err) != ReasonNotFound {
		t.Errorf("deleted licence: %v", err)
	}
}

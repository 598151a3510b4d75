package verifier

import (
	"elicense/certs/qr"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/statuslist"
)

func confVerifier(t testing.TB) (*Conformance, *Verifier) {
	c := readConformance(t)
	return c, New(c.loadState(t), Options{})
}

func caseText(t testing.TB, c *Conformance, name string) string {
	i := slices.IndexFunc(c.Cases, func(x Case) bool { return x.Name == name })
	if i < 0 {
		t.Fatalf("no case %q", name)
	}
	return c.Cases[i].Text
}

func TestVerdictContent(t *testing.T) {
	c, v := confVerifier(t)
	got := v.Verify(caseText(t, c, "presentation disclosing the address"), c.Now)
	if got.Code != Valid || got.Licence.Class != "drivers-license" || got.Licence.HolderName != "王磊" ||
		got.Agency != "上海市公安局" || got.Fields["address"] == "" || got.StatusAge != time.Hour || !got.Licence.Bound {
		t.Fatalf("%+v %+v", got, got.Licence)
	}
	if !strings.HasPrefix(got.Licence.ID, "1.2.156.3005.2.") || got.Licence.Status != "valid" {
		t.Fatalf("licence %+v", got.Licence)
	}
	v2 := New(v.State(), Options{})
	warn := v2.Verify(caseText(t, c, "marriage certificate on a 10-day-old list (warn)"), c.Now)
	if warn.Code != Valid || len(warn.Warnings) == 0 || warn.StatusAge != 240*time.Hour {
		t.Fatalf("stale warn class: %+v", warn)
	}
	if again := v2.Verify(caseText(t, c, "marriage certificate on a 10-day-old list (warn)"), c.Now.Add(time.Second)); again.Code != Replayed {
		t.Fatalf("second showing: %s", again.Code)
	}
	stale := v2.Verify(caseText(t, c, "business licence on a 2-day-old list (fail closed)"), c.Now)
	if stale.Code != StatusStale || stale.Licence == nil || stale.StatusAge != 48*time.Hour {
		t.Fatalf("stale fail class: %+v", stale)
	}
	// A revoked verdict still says which licence it was (for the clerk and the log).
	rev := v2.Verify(caseText(t, c, "revoked business licence"), c.Now)
	if rev.Code != Revoked || rev.Licence == nil || rev.Licence.Status != "revoked" {
		t.Fatalf("revoked: %+v", rev)
	}
}

func TestNoTrust(t *testing.T) {
	c := readConformance(t)
	v := New(State{}, Options{})
	if got := v.Verify(caseText(t, c, "static business licence"), c.Now); got.Code != NoTrust {
		t.Fatal(got.Code)
	}
	if got := v.Verify("garbage", c.Now); got.Code != Malformed {
		t.Fatal(got.Code)
	}
}

func TestReplayWindow(t *testing.T) {
	c, v := confVerifier(t)
	p := caseText(t, c, "bound driving licence presentation")
	if got := v.Verify(p, c.Now); got.Code != Valid {
		t.Fatal(got.Code)
	}
	for _, d := range []time.Duration{time.Second, 60 * time.Second} {
		if got := v.Verify(p, c.Now.Add(d)); got.Code != Replayed {
			t.Fatalf("+%s: %s", d, got.Code)
		}
	}
	// Past the window the presentation is too old rather than a replay.
	if got := v.Verify(p, c.Now.Add(2*time.Minute)); got.Code != PresentationExpired {
		t.Fatal(got.Code)
	}
}

func TestReplayCacheBounded(t *testing.T) {
	rc := newReplayCache(4)
	now := time.Unix(1000, 0)
	for i := range 10 {
		if !rc.add([32]byte{byte(i)}, now, now.Add(time.Minute)) {
			t.Fatal("new digest refused")
		}
	}
	if rc.Len() > 4 {
		t.Fatalf("cache holds %d", rc.Len())
	}
	if rc.add([32]byte{9}, now, now.Add(time.Minute)) {
		t.Fatal("recent digest accepted twice")
	}
	later := now.Add(2 * time.Minute)
	if !rc.add([32]byte{9}, later, later.Add(time.Minute)) {
		t.Fatal("digest refused after its window")
	}
}

func TestCodesHaveMessages(t *testing.T) {
	for _, c := range Codes {
		if c.Message() == "" || c.MessageEN() == "" || c.Colour() == "" {
			t.Errorf("%s lacks a message", c)
		}
	}
}

// StatusSince dates refusals only; a valid licence never asks for it.
func TestStatusSince(t *testing.T) {
	c := readConformance(t)
	st := c.loadState(t)
	since := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var asked []string
	st.StatusSince = func(id string, index uint64, s statuslist.Status) time.Time {
		asked = append(asked, fmt.Sprintf("%s/%d/%s", id, index, s))
		return since
	}
	v := New(st, Options{})
	if got := v.Verify(caseText(t, c, "static business licence"), c.Now); got.Code != ValidStatic || !got.Licence.StatusSince.IsZero() || len(asked) != 0 {
		t.Fatalf("valid: %s since %v, asked %q", got.Code, got.Licence.StatusSince, asked)
	}
	rev := v.Verify(caseText(t, c, "revoked business licence"), c.Now)
	if rev.Code != Revoked || !rev.Licence.StatusSince.Equal(since) || len(asked) != 1 ||
		asked[0] != fmt.Sprintf("%s/%d/revoked", rev.Licence.StatusList, rev.Licence.StatusIndex) {
		t.Fatalf("revoked: since %v, asked %q", rev.Licence.StatusSince, asked)
	}
	if !strings.Contains(string(must(json.Marshal(rev))), `"status_since":"2026-03-01T08:00:00Z"`) {
		t.Fatal("status_since not in the verdict's JSON")
	}
}

// TestPresentationWindow holds the counter to the window docs/formats.md
// §2.4 states: a presentation is accepted from presented_at − 30 s to
// presented_at + 60 s + 30 s by the counter's clock, and refused one
// second outside either edge.
func TestPresentationWindow(t *testing.T) {
	c, v := confVerifier(t)
	p := caseText(t, c, "bound driving licence presentation")
	at := v.Verify(p, c.Now).Licence.PresentedAt
	for _, tc := range []struct {
		offset time.Duration
		want   Code
	}{
		{qr.DefaultMaxAge + qr.DefaultClockSkew, Valid},
		{qr.DefaultMaxAge + qr.DefaultClockSkew + time.Second, PresentationExpired},
		{-qr.DefaultClockSkew, Valid},
		{-qr.DefaultClockSkew - time.Second, PresentationExpired},
	} {
		_, fresh := confVerifier(t) // no replay memory of p
		if got := fresh.Verify(p, at.Add(tc.offset)); got.Code != tc.want {
			t.Errorf("counter clock at presented_at%+v: %s (%s), want %s", tc.offset, got.Code, got.Detail, tc.want)
		}
	}
	if qr.DefaultMaxAge != 60*time.Second || qr.DefaultClockSkew != 30*time.Second {
		t.Errorf("the defaults moved (%s, %s): docs/formats.md §2.4 and mobile-sdk state 60 s and 30 s", qr.DefaultMaxAge, qr.DefaultClockSkew)
	}
}

package api

import (
	"testing"
	"time"
)

func TestPartyLimiter(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := newPartyLimiter(5, func() time.Time { return now })
	for i := range 10 { // the burst: twice the rate
		if ok, _ := l.allow("rp-a"); !ok {
			t.Fatalf("fetch %d of the burst refused", i)
		}
	}
	ok, wait := l.allow("rp-a")
	if ok || wait <= 0 || wait > 200*time.Millisecond {
		t.Fatalf("past the burst: ok %v, wait %v", ok, wait)
	}
	if ok, _ := l.allow("rp-b"); !ok {
		t.Fatal("another party shares the first one's bucket")
	}
	now = now.Add(wait)
	if ok, _ := l.allow("rp-a"); !ok {
		t.Fatal("refused after waiting the time it named")
	}
	if ok, _ := l.allow("rp-a"); ok {
		t.Fatal("one wait gave two fetches")
	}
	now = now.Add(time.Hour)
	n := 0
	for {
		if ok, _ := l.allow("rp-a"); !ok {
			break
		}
		n++
	}
	if n != 10 {
		t.Errorf("an idle bucket refilled to %d, want the burst 10", n)
	}
}

package catalog

import (
	"math/rand/v2"
	"testing"
	"time"
)

// slowParseDate is parseDate as it was, with time.Parse: the oracle the
// hand-written parser must agree with.
func slowParseDate(s string) (time.Time, bool) {
	if len(s) != len(DateLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil || t.Format(DateLayout) != s || t.Year() < minYear || t.Year() > maxYear {
		return time.Time{}, false
	}
	return t, true
}

func checkParseDate(t *testing.T, s string) {
	t.Helper()
	got, ok := parseDate(s)
	want, wantOK := slowParseDate(s)
	if ok != wantOK || !got.Equal(want) || got.Location() != want.Location() {
		t.Fatalf("parseDate(%q) = %v, %v; time.Parse says %v, %v", s, got, ok, want, wantOK)
	}
}

func TestParseDateMatchesTime(t *testing.T) {
	// Every day (and non-day) of some years, including leap-year rules.
	for _, y := range []int{1799, 1800, 1900, 2000, 2023, 2024, 2100, 2199, 2200} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				checkParseDate(t, pad(y, 4)+"-"+pad(m, 2)+"-"+pad(d, 2))
			}
		}
	}
	for _, s := range []string{
		"", "2024-01-0", "2024-01-011", "2024/01/01", "2024-1-01", "2024-01-1 ", " 2024-01-1",
		"+024-01-01", "-024-01-01", "2024-+1-01", "2024-01-+1", "2024-0a-01", "２０２４-01-01",
		"2024-02-29", "2023-02-29", "2024-04-31", "2024-12-31", "0000-01-01", "9999-12-31",
	} {
		checkParseDate(t, s)
	}
	// Random strings over the characters a date is made of.
	const alphabet = "0123456789-+ x"
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 10)
	for range 200000 {
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if r.IntN(2) == 0 {
			b[4], b[7] = '-', '-'
		}
		checkParseDate(t, string(b))
	}
}

func pad(n, w int) string {
	s := ""
	for range w {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}

package chinatime

import (
	"testing"
	"time"
)

func TestDays(t *testing.T) {
	for _, tc := range []struct {
		utc      string
		date     string
		midnight string
		end      string
	}{
		{"2026-03-07T15:59:59Z", "2026-03-07", "2026-03-06T16:00:00Z", "2026-03-07T16:00:00Z"},
		{"2026-03-07T16:00:00Z", "2026-03-08", "2026-03-07T16:00:00Z", "2026-03-08T16:00:00Z"},
		{"2028-02-28T16:00:00Z", "2028-02-29", "2028-02-28T16:00:00Z", "2028-02-29T16:00:00Z"},
		{"2026-12-31T17:00:00Z", "2027-01-01", "2026-12-31T16:00:00Z", "2027-01-01T16:00:00Z"},
		{"2026-07-01T00:00:00Z", "2026-07-01", "2026-06-30T16:00:00Z", "2026-07-01T16:00:00Z"}, // no summer time
	} {
		at, _ := time.Parse(time.RFC3339, tc.utc)
		if got := Date(at); got != tc.date {
			t.Errorf("Date(%s) = %s, want %s", tc.utc, got, tc.date)
		}
		if got := Midnight(at).UTC().Format(time.RFC3339); got != tc.midnight {
			t.Errorf("Midnight(%s) = %s, want %s", tc.utc, got, tc.midnight)
		}
		if got := EndOfDay(at).UTC().Format(time.RFC3339); got != tc.end {
			t.Errorf("EndOfDay(%s) = %s, want %s", tc.utc, got, tc.end)
		}
	}
}

package credential

import (
	"fmt"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/internal/chinatime"
)

// oldCheckValidity is checkValidity as it was, comparing formatted dates:
// the oracle for the day comparison that replaced it.
func oldCheckValidity(l *License, cl *catalog.Class) error {
	p := cl.Validity
	switch {
	case p.Kind == catalog.ValidityNone && !l.ValidUntil.IsZero():
		return errf(ErrBadField, "valid_until", "class %s has no end of validity", cl.Key)
	case l.ValidUntil.IsZero() && p.Kind != catalog.ValidityNone && !p.LongTermAllowed:
		return errf(ErrBadField, "valid_until", "class %s does not allow 长期 validity", cl.Key)
	}
	term, ok := cl.ValidityTerm(l.Fields)
	if !ok {
		return nil
	}
	until := LongTerm
	if !l.ValidUntil.IsZero() {
		until = dateString(l.ValidUntil)
	}
	printed := LongTerm
	if !term.LongTerm && !term.End.IsZero() {
		printed = term.End.Format(DateLayout)
	}
	if (term.LongTerm || !term.End.IsZero()) && printed != until {
		return errf(ErrBadField, p.Field, "field says the licence ends %s, valid_until says %s", printed, until)
	}
	if term.HasStart() && term.Start.Format(DateLayout) != dateString(l.ValidFrom) {
		return errf(ErrBadField, p.Field, "field says the licence starts %s, valid_from says %s", term.Start.Format(DateLayout), dateString(l.ValidFrom))
	}
	return nil
}

func TestCheckValidityMatchesFormatting(t *testing.T) {
	d := func(y, m, dd int, loc *time.Location) time.Time {
		return time.Date(y, time.Month(m), dd, 0, 0, 0, 0, loc)
	}
	utc8 := time.FixedZone("UTC+8", 8*3600)
	west := time.FixedZone("W", -10*3600)
	times := []time.Time{
		{}, d(2016, 3, 8, chinatime.Zone), d(2016, 3, 7, chinatime.Zone), d(2016, 3, 9, chinatime.Zone), d(2046, 3, 7, chinatime.Zone), d(2046, 3, 8, chinatime.Zone),
		d(2016, 3, 8, utc8), d(2016, 3, 8, time.UTC), d(2016, 3, 7, time.UTC).Add(16 * time.Hour), d(2046, 3, 7, west),
		d(2016, 3, 8, chinatime.Zone).Add(23*time.Hour + 59*time.Minute), d(2028, 2, 29, chinatime.Zone),
	}
	values := []string{"", "长期", "2016-03-08至2046-03-07", "2016-03-08至长期", "2016-03-07至2046-03-08", "2046-03-07", "2028-02-29", "bad"}
	n := 0
	for _, cl := range catalog.Default().Classes() {
		for _, v := range values {
			for _, from := range times {
				for _, until := range times {
					l := &License{Fields: map[string]string{}, ValidFrom: from, ValidUntil: until}
					if cl.Validity.Field != "" {
						l.Fields[cl.Validity.Field] = v
					}
					got, want := fmt.Sprint(checkValidity(l, cl)), fmt.Sprint(oldCheckValidity(l, cl))
					if got != want {
						t.Fatalf("%s %q from %v until %v: %s, want %s", cl.Key, v, from, until, got, want)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d cases", n)
}

// Package chinatime owns the one time zone licence dates are written and
// reckoned in: China Standard Time, UTC+8, which has no daylight saving
// (docs/spec/README.md, GM-09). A fixed zone, not the tz database's
// Asia/Shanghai, so that no machine's zone data can move a date.
package chinatime

import "time"

// Zone is China Standard Time.
var Zone = time.FixedZone("CST", 8*60*60)

// Midnight is the start, in China time, of the day t falls on there.
func Midnight(t time.Time) time.Time {
	y, m, d := t.In(Zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, Zone)
}

// EndOfDay is the first instant after the day t falls on in China time:
// a licence valid until a date is good through that whole day.
func EndOfDay(t time.Time) time.Time { return Midnight(t).AddDate(0, 0, 1) }

// Date is the day t falls on in China time, as YYYY-MM-DD.
func Date(t time.Time) string { return t.In(Zone).Format(time.DateOnly) }

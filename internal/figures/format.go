package main

import (
	"math"
	"strconv"
	"strings"
)

// number formats v to three significant digits, with thousands
// separators: 13,400; 74.6; 1.16; 0.0312.
func number(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	mag := int(math.Floor(math.Log10(math.Abs(v))))
	if mag >= 3 {
		p := math.Pow(10, float64(mag-2))
		return exact(math.Round(v/p) * p)
	}
	s := strconv.FormatFloat(v, 'f', 2-mag, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// exact formats v rounded to a whole number, with thousands separators.
func exact(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// duration formats a time in nanoseconds in the unit that suits it:
// 1.9 ns, 26 µs, 0.28 ms is 280 µs, 1.7 s.
func duration(ns float64) string {
	switch a := math.Abs(ns); {
	case a < 1e3:
		return number(ns) + " ns"
	case a < 1e6:
		return number(ns/1e3) + " µs"
	case a < 1e9:
		return number(ns/1e6) + " ms"
	default:
		return number(ns/1e9) + " s"
	}
}

// formatValue formats a value of unit: a duration for ns/op, else a
// number (whole if exact).
func formatValue(v float64, unit string, whole bool) string {
	switch {
	case unit == "ns/op":
		return duration(v)
	case whole:
		return exact(v)
	default:
		return number(v)
	}
}

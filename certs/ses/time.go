package ses

import (
	"elicense/internal/chinatime"
	"errors"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Tag numbers of the time encodings (universal class, primitive).
const (
	tagUTCTime         = byte(cbasn1.UTCTime)
	tagGeneralizedTime = byte(cbasn1.GeneralizedTime)
	tagBitString       = byte(cbasn1.BIT_STRING)
	tagOctetString     = byte(cbasn1.OCTET_STRING)
)

// Time is a time as a seal or signature carries it. It keeps its exact
// encoding, so that a parsed value re-encodes byte for byte:
//
//   - GeneralizedTime (every v4 time);
//   - UTCTime (the v1 property dates);
//   - a BIT STRING or OCTET STRING holding either a DER UTCTime or
//     GeneralizedTime, or the bare text of one (the v1 timeInfo, which
//     producers write in all of these ways).
//
// A time written without a zone is read as China Standard Time (UTC+8).
// Make one with [GeneralizedTime] or [UTCTime]; the zero Time is unset.
type Time struct {
	t     time.Time
	outer byte   // tag of the element: UTCTime, GeneralizedTime, BIT or OCTET STRING
	inner byte   // for BIT/OCTET STRING: tag of the DER time inside, 0 for bare text
	text  string // the time text exactly as encoded
}

// GeneralizedTime returns t (to the second, in UTC) encoded as a DER
// GeneralizedTime, YYYYMMDDHHMMSSZ, the form of GB/T 38540.
func GeneralizedTime(t time.Time) Time {
	t = t.UTC().Truncate(time.Second)
	return Time{t: t, outer: tagGeneralizedTime, text: t.Format("20060102150405Z")}
}

// UTCTime returns t (to the second, in UTC) encoded as a DER UTCTime,
// YYMMDDHHMMSSZ, the form of GM/T 0031 v1. Years outside 1950–2049 have no
// UTCTime; UTCTime then returns the zero Time.
func UTCTime(t time.Time) Time {
	t = t.UTC().Truncate(time.Second)
	if t.Year() < 1950 || t.Year() > 2049 {
		return Time{}
	}
	return Time{t: t, outer: tagUTCTime, text: t.Format("060102150405Z")}
}

// Time returns the instant.
func (t Time) Time() time.Time { return t.t }

// IsZero reports whether t is unset.
func (t Time) IsZero() bool { return t.outer == 0 }

// String returns the time text as encoded (e.g. "20200422020900Z").
func (t Time) String() string { return t.text }

// Generalized reports whether t is (or wraps) a GeneralizedTime.
func (t Time) Generalized() bool {
	return t.outer == tagGeneralizedTime || t.inner == tagGeneralizedTime ||
		(t.inner == 0 && t.outer != tagUTCTime && len(t.text) >= 14 && allDigits(t.text[:14]))
}

// readTime reads a time element. allowed lists the outer tags accepted.
func readTime(s *cryptobyte.String, path string, allowed ...byte) (Time, error) {
	if s.Empty() {
		return Time{}, malformed(path, "missing")
	}
	tag := (*s)[0]
	ok := false
	for _, a := range allowed {
		ok = ok || a == tag
	}
	if !ok {
		return Time{}, malformed(path, "want %s, found %s", tagNames(allowed), describeTag(tag))
	}
	var content cryptobyte.String
	if !s.ReadASN1(&content, cbasn1.Tag(tag)) {
		return Time{}, malformed(path, "truncated or bad length")
	}
	switch tag {
	case tagGeneralizedTime:
		t, err := parseGeneralized(string(content))
		if err != nil {
			return Time{}, malformed(path, "GeneralizedTime %q: %v", printable(content), err)
		}
		return Time{t: t, outer: tag, text: string(content)}, nil
	case tagUTCTime:
		t, err := parseUTC(string(content))
		if err != nil {
			return Time{}, malformed(path, "UTCTime %q: %v", printable(content), err)
		}
		return Time{t: t, outer: tag, text: string(content)}, nil
	}
	// BIT STRING or OCTET STRING wrapping a time.
	if tag == tagBitString {
		if len(content) == 0 || content[0] != 0 {
			return Time{}, malformed(path, "BIT STRING time with unused bits")
		}
		content = content[1:]
	}
	if len(content) > 0 && (content[0] == tagUTCTime || content[0] == tagGeneralizedTime) {
		in := content
		var text cryptobyte.String
		innerTag := content[0]
		if !in.ReadASN1(&text, cbasn1.Tag(innerTag)) || !in.Empty() {
			return Time{}, malformed(path, "bad DER time inside %s", describeTag(tag))
		}
		var t time.Time
		var err error
		if innerTag == tagUTCTime {
			t, err = parseUTC(string(text))
		} else {
			t, err = parseGeneralized(string(text))
		}
		if err != nil {
			return Time{}, malformed(path, "time %q: %v", printable(text), err)
		}
		return Time{t: t, outer: tag, inner: innerTag, text: string(text)}, nil
	}
	var t time.Time
	var err error
	if len(content) >= 14 && allDigits(string(content[:14])) {
		t, err = parseGeneralized(string(content))
	} else {
		t, err = parseUTC(string(content))
	}
	if err != nil {
		return Time{}, malformed(path, "time text %q: %v", printable(content), err)
	}
	return Time{t: t, outer: tag, text: string(content)}, nil
}

// addTime writes t in its own encoding; t must be set.
func addTime(b *cryptobyte.Builder, t Time) {
	switch t.outer {
	case tagGeneralizedTime, tagUTCTime:
		b.AddASN1(cbasn1.Tag(t.outer), func(b *cryptobyte.Builder) { b.AddBytes([]byte(t.text)) })
	default:
		b.AddASN1(cbasn1.Tag(t.outer), func(b *cryptobyte.Builder) {
			if t.outer == tagBitString {
				b.AddUint8(0)
			}
			if t.inner != 0 {
				b.AddASN1(cbasn1.Tag(t.inner), func(b *cryptobyte.Builder) { b.AddBytes([]byte(t.text)) })
			} else {
				b.AddBytes([]byte(t.text))
			}
		})
	}
}

var errTimeFormat = errors.New("not a valid time")

// parseGeneralized reads YYYYMMDDHHMMSS[.fff][Z|±HHMM]. DER requires the Z
// form; the others are accepted from tolerant producers.
func parseGeneralized(s string) (time.Time, error) {
	if len(s) < 14 || !allDigits(s[:14]) {
		return time.Time{}, errTimeFormat
	}
	year, month, day := atoi(s[0:4]), atoi(s[4:6]), atoi(s[6:8])
	hour, min, sec := atoi(s[8:10]), atoi(s[10:12]), atoi(s[12:14])
	rest := s[14:]
	nsec := 0
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		frac := rest[1:i]
		if len(frac) == 0 || len(frac) > 9 {
			return time.Time{}, errTimeFormat
		}
		nsec = atoi(frac)
		for j := len(frac); j < 9; j++ {
			nsec *= 10
		}
		rest = rest[i:]
	}
	return makeTime(year, month, day, hour, min, sec, nsec, rest)
}

// parseUTC reads YYMMDDHHMM[SS][Z|±HHMM]; YY below 50 is 20YY (RFC 5280).
func parseUTC(s string) (time.Time, error) {
	if len(s) < 10 || !allDigits(s[:10]) {
		return time.Time{}, errTimeFormat
	}
	year := atoi(s[0:2])
	if year < 50 {
		year += 2000
	} else {
		year += 1900
	}
	month, day, hour, min := atoi(s[2:4]), atoi(s[4:6]), atoi(s[6:8]), atoi(s[8:10])
	rest, sec := s[10:], 0
	if len(rest) >= 2 && allDigits(rest[:2]) {
		sec, rest = atoi(rest[:2]), rest[2:]
	}
	return makeTime(year, month, day, hour, min, sec, 0, rest)
}

func makeTime(year, month, day, hour, min, sec, nsec int, zone string) (time.Time, error) {
	loc := chinatime.Zone
	switch {
	case zone == "Z":
		loc = time.UTC
	case zone == "":
	case len(zone) == 5 && (zone[0] == '+' || zone[0] == '-') && allDigits(zone[1:]):
		h, m := atoi(zone[1:3]), atoi(zone[3:5])
		if h > 23 || m > 59 {
			return time.Time{}, errTimeFormat
		}
		off := h*3600 + m*60
		if zone[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return time.Time{}, errTimeFormat
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc)
	// time.Date normalises 31 February and 25:00; refuse them instead.
	if t.Year() != year || int(t.Month()) != month || t.Day() != day ||
		t.Hour() != hour || t.Minute() != min || t.Second() != sec {
		return time.Time{}, errTimeFormat
	}
	return t, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// ParseGeneralizedTime reads GeneralizedTime text the way this package
// does: YYYYMMDDHHMMSS, optional fraction, then Z, ±HHMM or nothing
// (China Standard Time).
func ParseGeneralizedTime(s string) (time.Time, error) { return parseGeneralized(s) }

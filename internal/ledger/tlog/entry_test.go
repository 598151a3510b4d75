package tlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

func sampleEntry() Entry {
	return Entry{
		Type:           TypeRevoke,
		Time:           time.Date(2026, 11, 25, 9, 30, 0, 123456789, time.UTC),
		Agency:         "310000-SAMR",
		LicenseID:      "1.2.156.3005.2.11100000000013127D001.310000.0000001.001.K",
		CredentialHash: [HashSize]byte{1, 2, 3},
		StatusFrom:     StatusValid,
		StatusTo:       StatusRevoked,
		Reason:         "吊销",
		Operator:       "clerk-0042",
		Extra:          []byte{0xde, 0xad},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	e := sampleEntry()
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d, err := DecodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != EntryVersion || d.Type != e.Type || !d.Time.Equal(e.Time) || d.Agency != e.Agency ||
		d.LicenseID != e.LicenseID || d.CredentialHash != e.CredentialHash || d.StatusFrom != e.StatusFrom ||
		d.StatusTo != e.StatusTo || d.Reason != e.Reason || d.Operator != e.Operator || !bytes.Equal(d.Extra, e.Extra) {
		t.Fatalf("round trip: got %+v, want %+v", d, e)
	}
	again, _ := d.MarshalBinary()
	if !bytes.Equal(again, b) {
		t.Fatal("re-encoding differs")
	}
	// A local time encodes as the same instant.
	e2 := e
	e2.Time = e.Time.In(time.FixedZone("CST", 8*3600))
	b2, _ := e2.MarshalBinary()
	if !bytes.Equal(b2, b) {
		t.Fatal("time zone changed the encoding")
	}
	// Golden layout of the fixed part.
	if b[0] != 1 || b[1] != byte(TypeRevoke) || int64(binary.BigEndian.Uint64(b[2:10])) != e.Time.UnixNano() ||
		b[42] != byte(StatusValid) || b[43] != byte(StatusRevoked) || binary.BigEndian.Uint16(b[44:]) != uint16(len(e.Agency)) {
		t.Fatalf("layout: %x", b[:46])
	}
}

func TestEntryInvalid(t *testing.T) {
	mod := func(f func(*Entry)) Entry { e := sampleEntry(); f(&e); return e }
	cases := map[string]Entry{
		"version":     mod(func(e *Entry) { e.Version = 2 }),
		"type 0":      mod(func(e *Entry) { e.Type = 0 }),
		"type 99":     mod(func(e *Entry) { e.Type = 99 }),
		"zero time":   mod(func(e *Entry) { e.Time = time.Time{} }),
		"status":      mod(func(e *Entry) { e.StatusTo = 9 }),
		"no agency":   mod(func(e *Entry) { e.Agency = "" }),
		"long agency": mod(func(e *Entry) { e.Agency = strings.Repeat("a", MaxAgencyLen+1) }),
		"no licence":  mod(func(e *Entry) { e.LicenseID = "" }),
		"bad utf8":    mod(func(e *Entry) { e.Reason = "\xff" }),
		"no operator": mod(func(e *Entry) { e.Operator = "" }),
		"long extra":  mod(func(e *Entry) { e.Extra = make([]byte, MaxExtraLen+1) }),
	}
	for name, e := range cases {
		if _, err := e.MarshalBinary(); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("%s: got %v, want ErrInvalidEntry", name, err)
		}
	}
	if _, err := ParseEntryType("nope"); !errors.Is(err, ErrInvalidEntry) {
		t.Error(err)
	}
	for ty := TypeIssue; ty <= TypeKeyCompromise; ty++ {
		if got, err := ParseEntryType(ty.String()); err != nil || got != ty {
			t.Errorf("ParseEntryType(%q) = %v, %v", ty, got, err)
		}
	}
}

func TestDecodeEntryCorrupt(t *testing.T) {
	e := sampleEntry()
	good, _ := e.MarshalBinary()
	set := func(i int, v byte) []byte { b := bytes.Clone(good); b[i] = v; return b }
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"empty":          {nil, "empty"},
		"version":        {set(0, 9), "version 9"},
		"short":          {good[:20], "shorter than"},
		"type":           {set(1, 0), "unknown type 0"},
		"status from":    {set(42, 7), "status from 7"},
		"status to":      {set(43, 7), "status to 7"},
		"trailing":       {append(bytes.Clone(good), 0), "1 trailing bytes"},
		"truncated":      {good[:len(good)-1], "extra is 2 bytes but only 1 remain"},
		"no extra len":   {good[:len(good)-3], "before the length of extra"},
		"empty agency":   {append(append(bytes.Clone(good[:44]), 0, 0), good[46+len(e.Agency):]...), "agency is empty"},
		"long agency":    {set(44, 0xff), "agency is 65"},
		"agency utf8":    {set(46, 0xff), "agency is not valid UTF-8"},
		"licence length": {set(46+len(e.Agency), 0xff), "licence ID is"},
	}
	for name, c := range cases {
		_, err := DecodeEntry(c.b)
		if !errors.Is(err, ErrCorruptEntry) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrCorruptEntry mentioning %q", name, err, c.want)
		}
	}
}

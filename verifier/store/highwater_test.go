package store

import (
	"errors"
	"strings"
	"testing"
)

// hwFile returns body with its checksum line.
func hwFile(body string) []byte { return append([]byte(body), checksumLine([]byte(body))...) }

func TestHighWaterRoundTrip(t *testing.T) {
	for _, hw := range []*highWater{
		{Seq: 0, Lists: map[string]uint64{}},
		{Seq: 1776000000000000, Lists: map[string]uint64{"https://a/v1/status/x 1": 3, "http://b/1": 1<<64 - 1, "https://a/v1/status/x": 2}},
	} {
		got, err := parseHighWater(hw.encode())
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != hw.Seq || len(got.Lists) != len(hw.Lists) {
			t.Fatalf("%+v, want %+v", got, hw)
		}
		for u, v := range hw.Lists {
			if got.Lists[u] != v {
				t.Fatalf("%q: %d, want %d", u, got.Lists[u], v)
			}
		}
	}
}

func TestParseHighWater(t *testing.T) {
	const head = highWaterHeader + "\n"
	for _, tc := range []struct {
		name string
		data []byte
		want string // "" for valid
	}{
		{"minimal", hwFile(head + "bundle 7\n"), ""},
		{"lists", hwFile(head + "bundle 7\nlist 2 http://a/1\nlist 9 http://a/2\n"), ""},
		{"URI with a space", hwFile(head + "bundle 7\nlist 2 http://a/x y\n"), ""},
		{"empty", nil, "no checksum line"},
		{"no checksum", []byte(head + "bundle 7\n"), "no checksum line"},
		{"bad checksum", append([]byte(head+"bundle 7\nsm3 "), strings.Repeat("0", 64)+"\n"...), "checksum does not match"},
		{"checksum without newline", hwFile(head + "bundle 7\n")[:len(hwFile(head+"bundle 7\n"))-1], "checksum does not match"},
		{"trailing data", append(hwFile(head+"bundle 7\n"), "x"...), "checksum does not match"},
		{"other header", hwFile("elicense-verify high-water 2\nbundle 7\n"), "first line"},
		{"no bundle line", hwFile(head), "no bundle line"},
		{"bundle not a number", hwFile(head + "bundle x\n"), "line 2"},
		{"bundle with a sign", hwFile(head + "bundle +7\n"), "line 2"},
		{"bundle with leading zero", hwFile(head + "bundle 07\n"), "line 2"},
		{"bundle overflow", hwFile(head + "bundle 18446744073709551616\n"), "line 2"},
		{"version 0", hwFile(head + "bundle 7\nlist 0 http://a/1\n"), "line 3"},
		{"no URI", hwFile(head + "bundle 7\nlist 3\n"), "line 3"},
		{"empty URI", hwFile(head + "bundle 7\nlist 3 \n"), "line 3"},
		{"control character", hwFile(head + "bundle 7\nlist 3 http://a/\x01\n"), "not printable"},
		{"invalid UTF-8", hwFile(head + "bundle 7\nlist 3 http://a/\xff\n"), "not printable"},
		{"URI too long", hwFile(head + "bundle 7\nlist 3 http://a/" + strings.Repeat("a", 2048) + "\n"), "too long"},
		{"out of order", hwFile(head + "bundle 7\nlist 3 http://b\nlist 3 http://a\n"), "out of order"},
		{"repeated", hwFile(head + "bundle 7\nlist 3 http://a\nlist 4 http://a\n"), "out of order"},
		{"unknown record", hwFile(head + "bundle 7\nseal 3 x\n"), "line 3"},
		{"blank line", hwFile(head + "bundle 7\n\n"), "line 3"},
		{"CRLF", hwFile(highWaterHeader + "\r\nbundle 7\r\n"), "first line"},
		{"too large", append(hwFile(head+"bundle 7\n"), make([]byte, maxHighWater)...), "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseHighWater(tc.data)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrHighWater) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParseHighWater(f *testing.F) {
	f.Add((&highWater{Seq: 3, Lists: map[string]uint64{"http://a/1": 2, "https://b/v1/status/x": 9}}).encode())
	f.Add(hwFile(highWaterHeader + "\nbundle 7\n"))
	f.Add([]byte("sm3 \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		hw, err := parseHighWater(data)
		if err != nil {
			if !errors.Is(err, ErrHighWater) {
				t.Fatalf("error %v does not match ErrHighWater", err)
			}
			return
		}
		// What parses re-encodes to the same bytes: one file per state.
		if got := hw.encode(); string(got) != string(data) {
			t.Fatalf("parsed %q, re-encoded %q", data, got)
		}
	})
}

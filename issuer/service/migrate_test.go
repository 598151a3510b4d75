package service

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// format1 encodes a format-1 entry as releases before format 2 wrote it.
func format1(typ byte, from, to byte, agency, id, reason, op string, extra []byte) []byte {
	b := []byte{1, typ}
	b = binary.BigEndian.AppendUint64(b, uint64(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC).UnixNano()))
	b = append(append(b, make([]byte, 32)...), from, to)
	for _, f := range [][]byte{[]byte(agency), []byte(id), []byte(reason), []byte(op), extra} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

func TestDecodeFormat1(t *testing.T) {
	good := format1(6, 0, 1, "11100000000000000A", "ES-1", "", "clerk 张三", []byte("11010519491231002X"))
	e, err := decodeFormat1(good)
	if err != nil || e.typ != 6 || e.id != "ES-1" || e.operator != "clerk 张三" || string(e.extra) != "11010519491231002X" || !e.time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)) {
		t.Fatalf("%+v %v", e, err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"format 2", append([]byte{2}, good[1:]...)},
		{"short", good[:43]},
		{"type 0", format1(0, 0, 1, "A", "x", "", "op", nil)},
		{"type 12", format1(12, 0, 1, "A", "x", "", "op", nil)},
		{"status 4", format1(3, 1, 4, "A", "x", "", "op", nil)},
		{"no agency", format1(1, 0, 1, "", "x", "", "op", nil)},
		{"no operator", format1(1, 0, 1, "A", "x", "", "", nil)},
		{"not UTF-8", format1(1, 0, 1, "A", "\xff", "", "op", nil)},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(good[:len(good):len(good)], 0)},
	} {
		if _, err := decodeFormat1(tc.b); !errors.Is(err, errFormat1) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func FuzzDecodeFormat1(f *testing.F) {
	f.Add(format1(6, 0, 1, "A", "ES-1", "", "op", []byte("x")))
	f.Add(format1(5, 1, 3, "A", "L-1", "变更", "op", []byte("L-2")))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeFormat1(b)
		if err != nil {
			if !errors.Is(err, errFormat1) {
				t.Fatalf("error %v does not wrap errFormat1", err)
			}
			return
		}
		again := format1(e.typ, e.from, e.to, e.agency, e.id, e.reason, e.operator, e.extra)
		copy(again[2:10], b[2:10])
		copy(again[10:42], b[10:42])
		if string(again) != string(b) {
			t.Fatalf("decoded %x, encodes back to %x", b, again)
		}
	})
}

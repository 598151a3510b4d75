package tlog

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

func FuzzParseCheckpoint(f *testing.F) {
	s := testSigner(f, "ledger.example/log")
	note, _ := SignCheckpoint(Checkpoint{Origin: "ledger.example/log", Size: 7, Root: SM3.EmptyRoot()}, s)
	f.Add(note)
	f.Add([]byte("ledger.example/log\n7\n" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	f.Add([]byte("o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\n\n— o AAAAAAAA\n"))
	v := s.Verifier()
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseCheckpoint(string(b)); err == nil {
			if c.String() != string(b) {
				t.Fatalf("checkpoint %q re-encodes to %q", b, c.String())
			}
		} else if !errors.Is(err, ErrBadCheckpoint) {
			t.Fatalf("ParseCheckpoint error %v does not wrap ErrBadCheckpoint", err)
		}
		_, err := VerifyCheckpoint(b, "ledger.example/log", v)
		if err == nil && !bytes.Equal(b, note) {
			// Only a signature made by s can verify; the fuzzer cannot make one.
			n, _ := ParseNote(b)
			if n == nil || n.Text != "ledger.example/log\n7\n"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n" {
				t.Fatalf("forged checkpoint verified: %q", b)
			}
		}
		if err != nil && !errors.Is(err, ErrMalformedNote) && !errors.Is(err, ErrBadCheckpoint) &&
			!errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrNoKnownSignature) {
			t.Fatalf("VerifyCheckpoint error %v wraps no sentinel", err)
		}
	})
}

var fuzzTree = sync.OnceValue(func() *MemTree {
	m := NewMemTree(SM3)
	for _, l := range leafHashes(SM3, 300) {
		m.AppendLeaf(l)
	}
	return m
})

func hashesFrom(b []byte) []Hash {
	out := make([]Hash, len(b)/HashSize)
	for i := range out {
		copy(out[i][:], b[i*HashSize:])
	}
	return out
}

func FuzzVerifyInclusion(f *testing.F) {
	f.Add(uint64(3), uint64(7), uint16(0), byte(1), []byte{})
	f.Add(uint64(0), uint64(1), uint16(5), byte(0), make([]byte, 64))
	f.Add(uint64(1<<62), uint64(1<<63), uint16(9), byte(4), make([]byte, 96))
	f.Fuzz(func(t *testing.T, index, size uint64, pos uint16, x byte, raw []byte) {
		m := fuzzTree()
		// Arbitrary input: never panics, errors wrap the sentinel.
		if err := VerifyInclusion(Hash{}, index, size, hashesFrom(raw), m.Root()); err != nil && !errors.Is(err, ErrInclusionProof) {
			t.Fatal(err)
		}
		// A real proof verifies; any change to it does not.
		n := 1 + size%m.Size()
		i := index % n
		p, err := m.InclusionProof(i, n)
		if err != nil {
			t.Fatal(err)
		}
		root, _ := m.RootAt(n)
		leaf, _ := m.ReadNodes([]NodeID{{0, i}})
		if err := VerifyInclusion(leaf[0], i, n, p, root); err != nil {
			t.Fatalf("good proof (%d, %d): %v", i, n, err)
		}
		if len(p) == 0 || x == 0 {
			return
		}
		p[int(pos)%len(p)][int(pos)%HashSize] ^= x
		if err := VerifyInclusion(leaf[0], i, n, p, root); !errors.Is(err, ErrInclusionProof) {
			t.Fatalf("tampered proof (%d, %d) verified: %v", i, n, err)
		}
	})
}

func FuzzVerifyConsistency(f *testing.F) {
	f.Add(uint64(3), uint64(7), uint16(0), byte(1), []byte{})
	f.Add(uint64(0), uint64(1), uint16(5), byte(0), make([]byte, 64))
	f.Add(uint64(5), uint64(5), uint16(9), byte(4), make([]byte, 96))
	f.Fuzz(func(t *testing.T, size1, size2 uint64, pos uint16, x byte, raw []byte) {
		m := fuzzTree()
		if err := VerifyConsistency(size1, size2, hashesFrom(raw), m.Root(), m.Root()); err != nil && !errors.Is(err, ErrConsistency) {
			t.Fatal(err)
		}
		n2 := 1 + size2%m.Size()
		n1 := size1 % (n2 + 1)
		p, err := m.ConsistencyProof(n1, n2)
		if err != nil {
			t.Fatal(err)
		}
		r1, _ := m.RootAt(n1)
		r2, _ := m.RootAt(n2)
		if err := VerifyConsistency(n1, n2, p, r1, r2); err != nil {
			t.Fatalf("good proof (%d, %d): %v", n1, n2, err)
		}
		if len(p) == 0 || x == 0 {
			return
		}
		p[int(pos)%len(p)][int(pos)%HashSize] ^= x
		if err := VerifyConsistency(n1, n2, p, r1, r2); !errors.Is(err, ErrConsistency) {
			t.Fatalf("tampered proof (%d, %d) verified: %v", n1, n2, err)
		}
	})
}

package statuslist

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"math/bits"
	"sync"
)

// An Allocator hands out the indices of one status list to new licences,
// each uniformly at random among those not yet used, so that an index says
// nothing about when a licence was issued or which licences were issued
// together (herd privacy, DESIGN §6). Indices are never handed out twice and
// never given back: a revoked licence keeps its entry for good.
//
// The issuer persists which indices are used (they are in its licence
// records) and rebuilds an Allocator after a restart with MarkUsed. An
// Allocator is safe for concurrent use.
type Allocator struct {
	mu    sync.Mutex
	size  int
	used  []uint64 // bit i set: index i is used
	block []int32  // used indices per block of allocBlock indices
	n     int      // number of used indices
	rand  io.Reader
	buf   [512]byte // randomness not yet consumed: buf[off:]
	off   int
}

// allocBlock is the number of indices per block count (64 bitmap words).
const allocBlock = 64 * 64

// NewAllocator returns an allocator for a list of size entries with no
// index used. size is the list's Len (or less, to keep the tail unused).
func NewAllocator(size int) (*Allocator, error) {
	if size <= 0 || size > DefaultMaxEntries {
		return nil, fmt.Errorf("%w: allocator for %d entries (1 to %d)", ErrIndex, size, DefaultMaxEntries)
	}
	return &Allocator{
		size:  size,
		used:  make([]uint64, (size+63)/64),
		block: make([]int32, (size+allocBlock-1)/allocBlock),
		rand:  rand.Reader,
		off:   512,
	}, nil
}

// RebuildAllocator returns an allocator for a list of size entries with the
// given indices marked used, e.g. read back from the issuer's records. It
// fails with ErrIndex on an index outside the list; repeated indices are
// fine.
func RebuildAllocator(size int, used iter.Seq[int]) (*Allocator, error) {
	a, err := NewAllocator(size)
	if err != nil {
		return nil, err
	}
	for i := range used {
		if _, err := a.MarkUsed(i); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Size returns the number of indices the allocator manages.
func (a *Allocator) Size() int { return a.size }

// Used returns the number of indices handed out or marked used.
func (a *Allocator) Used() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// UsedIndices yields the used indices in increasing order (to save an
// allocator and rebuild it with RebuildAllocator). The allocator must not
// change while the sequence is read.
func (a *Allocator) UsedIndices() iter.Seq[int] {
	return func(yield func(int) bool) {
		a.mu.Lock()
		defer a.mu.Unlock()
		for w, word := range a.used {
			for word != 0 {
				b := bits.TrailingZeros64(word)
				word &= word - 1
				if !yield(w*64 + b) {
					return
				}
			}
		}
	}
}

// IsUsed reports whether idx is used.
func (a *Allocator) IsUsed(idx int) bool {
	if uint(idx) >= uint(a.size) {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used[idx/64]>>(idx%64)&1 == 1
}

// MarkUsed marks idx used and reports whether it was free before.
func (a *Allocator) MarkUsed(idx int) (bool, error) {
	if uint(idx) >= uint(a.size) {
		return false, fmt.Errorf("%w: %d, allocator has %d entries", ErrIndex, idx, a.size)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mark(idx), nil
}

func (a *Allocator) mark(idx int) bool {
	w, m := &a.used[idx/64], uint64(1)<<(idx%64)
	if *w&m != 0 {
		return false
	}
	*w |= m
	a.n++
	a.block[idx/allocBlock]++
	return true
}

// Allocate returns a free index chosen uniformly at random with
// crypto/rand and marks it used. It fails with ErrFull when none is left.
func (a *Allocator) Allocate() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	free := a.size - a.n
	if free == 0 {
		return 0, fmt.Errorf("%w: all %d indices are used", ErrFull, a.size)
	}
	// While at least 1/32 of the list is free, draw indices until a free
	// one comes up (on average at most 32 draws). Past that, draw the rank
	// among free indices and find it through the block counts and the
	// bitmap. Both give every free index the same probability.
	if free >= a.size/32 {
		for {
			i, err := a.uniform(a.size)
			if err != nil {
				return 0, err
			}
			if a.mark(i) {
				return i, nil
			}
		}
	}
	r, err := a.uniform(free)
	if err != nil {
		return 0, err
	}
	bi := 0
	for ; bi < len(a.block); bi++ {
		f := min(allocBlock, a.size-bi*allocBlock) - int(a.block[bi])
		if r < f {
			break
		}
		r -= f
	}
	for wi := bi * allocBlock / 64; wi < len(a.used); wi++ {
		f := ^a.used[wi]
		if last := a.size - wi*64; last < 64 {
			f &= 1<<last - 1
		}
		if c := bits.OnesCount64(f); r >= c {
			r -= c
			continue
		}
		for ; r > 0; r-- {
			f &= f - 1 // drop the lowest free bit
		}
		i := wi*64 + bits.TrailingZeros64(f)
		a.mark(i)
		return i, nil
	}
	panic("statuslist: allocator bitmap inconsistent with its counts")
}

// uniform returns a uniformly random integer in [0, n), n > 0, by
// rejection sampling on masked 64-bit draws.
func (a *Allocator) uniform(n int) (int, error) {
	mask := uint64(1)<<bits.Len64(uint64(n-1)) - 1
	for {
		if a.off+8 > len(a.buf) {
			if _, err := io.ReadFull(a.rand, a.buf[:]); err != nil {
				return 0, fmt.Errorf("statuslist: reading randomness: %w", err)
			}
			a.off = 0
		}
		v := binary.LittleEndian.Uint64(a.buf[a.off:]) & mask
		a.off += 8
		if v < uint64(n) {
			return int(v), nil
		}
	}
}

package statuslist

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
)

func TestAllocatorExhausts(t *testing.T) {
	for _, size := range []int{1, 7, 64, 65, 1000} {
		a, err := NewAllocator(size)
		if err != nil {
			t.Fatal(err)
		}
		seen := make([]bool, size)
		for n := 0; n < size; n++ {
			i, err := a.Allocate()
			if err != nil {
				t.Fatalf("size %d, allocation %d: %v", size, n, err)
			}
			if i < 0 || i >= size || seen[i] {
				t.Fatalf("size %d: index %d out of range or repeated", size, i)
			}
			seen[i] = true
		}
		if _, err := a.Allocate(); !errors.Is(err, ErrFull) {
			t.Fatalf("size %d: full allocator gave %v", size, err)
		}
		if a.Used() != size {
			t.Fatalf("Used = %d, want %d", a.Used(), size)
		}
	}
	if _, err := NewAllocator(0); err == nil {
		t.Error("NewAllocator(0) succeeded")
	}
}

func TestAllocatorRebuild(t *testing.T) {
	used := []int{0, 5, 5, 99}
	a, err := RebuildAllocator(100, slices.Values(used))
	if err != nil {
		t.Fatal(err)
	}
	if a.Used() != 3 || !a.IsUsed(5) || a.IsUsed(6) || a.IsUsed(-1) || a.IsUsed(100) {
		t.Fatalf("rebuilt state wrong: used %d", a.Used())
	}
	for range 97 {
		i, err := a.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(used, i) {
			t.Fatalf("handed out used index %d", i)
		}
	}
	if _, err := RebuildAllocator(100, slices.Values([]int{100})); !errors.Is(err, ErrIndex) {
		t.Errorf("rebuild with index 100: %v", err)
	}
	if fresh, err := a.MarkUsed(3); err != nil || fresh {
		t.Errorf("MarkUsed on a used index: %v, %v", fresh, err)
	}
}

// TestAllocatorUniform checks with a chi-squared test that both sampling
// paths (mostly free: rejection; nearly full: rank selection) pick every
// free index with the same probability.
func TestAllocatorUniform(t *testing.T) {
	const size = 256
	for _, prefill := range []int{0, 249} { // 7 free < 256/32: the dense path
		tmpl, _ := NewAllocator(size)
		for i := 0; i < prefill; i++ {
			_, _ = tmpl.MarkUsed(i * 7 % size) // 7 is prime to 256: distinct indices
		}
		free := size - prefill
		draws := 400 * free
		counts := make([]int, size)
		for range draws {
			a := tmpl.clone()
			i, err := a.Allocate()
			if err != nil {
				t.Fatal(err)
			}
			if tmpl.IsUsed(i) {
				t.Fatalf("handed out used index %d", i)
			}
			counts[i]++
		}
		exp := float64(draws) / float64(free)
		chi := 0.0
		for i, c := range counts {
			if !tmpl.IsUsed(i) {
				chi += (float64(c) - exp) * (float64(c) - exp) / exp
			}
		}
		// About the 99.99th percentile of chi-squared with free-1 degrees
		// of freedom (Wilson–Hilferty).
		df := float64(free - 1)
		limit := df * math.Pow(1-2/(9*df)+3.8*math.Sqrt(2/(9*df)), 3)
		if chi > limit {
			t.Errorf("prefill %d: chi² = %.1f > %.1f: not uniform", prefill, chi, limit)
		}
	}
}

func TestAllocatorConcurrent(t *testing.T) {
	a, _ := NewAllocator(4000)
	var mu sync.Mutex
	seen := map[int]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				i, err := a.Allocate()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[i] {
					t.Errorf("index %d handed out twice", i)
				}
				seen[i] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 4000 {
		t.Errorf("%d distinct indices, want 4000", len(seen))
	}
}

func TestUsedIndicesRoundTrip(t *testing.T) {
	a, err := NewAllocator(10_000)
	if err != nil {
		t.Fatal(err)
	}
	for range 3_000 {
		if _, err := a.Allocate(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := RebuildAllocator(a.Size(), a.UsedIndices())
	if err != nil {
		t.Fatal(err)
	}
	if b.Used() != a.Used() {
		t.Fatalf("rebuilt %d used, want %d", b.Used(), a.Used())
	}
	prev := -1
	for i := range a.UsedIndices() {
		if i <= prev || !b.IsUsed(i) {
			t.Fatalf("index %d after %d, used in the rebuilt allocator: %v", i, prev, b.IsUsed(i))
		}
		prev = i
	}
}

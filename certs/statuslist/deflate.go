package statuslist

import (
	"encoding/binary"
	"hash/adler32"
	"slices"
)

// This file is a small DEFLATE (RFC 1951) encoder in a zlib (RFC 1950)
// wrapper for status lists. It uses zlib's Z_RLE strategy: runs of one byte
// value become a literal followed by copies at distance 1, and everything
// else is a literal, all in dynamic-Huffman blocks. Any inflater reads the
// output; the draft only asks for DEFLATE in the ZLIB format.
//
// Why not compress/flate: status lists are long runs of zero bytes with
// rare, randomly placed non-zero bytes. compress/flate's hash chains
// degenerate on such data: its high levels take about a second on a 10 M-
// entry list, and its fast levels lose the size budget. This encoder's
// cost is one pass over the bytes whatever the level of revocation, and
// it stays within the budget (docs/performance.md).

const (
	maxMatch       = 258
	minMatch       = 3
	maxCodeBits    = 15 // literal/length and distance codes
	maxCLBits      = 7  // code-length codes
	numLitLen      = 286
	endOfBlock     = 256
	blockTokens    = 1 << 16 // tokens per DEFLATE block
	tokenMatchBase = 256     // token t ≥ tokenMatchBase is a match of length t-tokenMatchBase
)

// Length codes 257..285: base length and extra bits (RFC 1951 §3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	// lengthCode[l] is the index (0..28) of the code for match length l.
	lengthCode = func() (t [maxMatch + 1]uint8) {
		for l := minMatch; l <= maxMatch; l++ {
			c := 28
			for int(lengthBase[c]) > l {
				c--
			}
			t[l] = uint8(c)
		}
		return t
	}()
	// clOrder is the order in which code-length code lengths are sent.
	clOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// zlibRLE returns the zlib stream of data.
func zlibRLE(data []byte) []byte {
	w := bitWriter{out: make([]byte, 0, 64+len(data)/24)}
	w.out = append(w.out, 0x78, 0xda) // CM 8, CINFO 7 (32 KiB window), FLEVEL 3, no dictionary
	toks := tokenize(data)
	if len(toks) == 0 {
		// One final fixed-Huffman block holding only end-of-block (code 0000000).
		w.bits(1|1<<1, 3)
		w.bits(0, 7)
	}
	for len(toks) > 0 {
		n := min(len(toks), blockTokens)
		writeBlock(&w, toks[:n], n == len(toks))
		toks = toks[n:]
	}
	w.flush()
	return binary.BigEndian.AppendUint32(w.out, adler32.Checksum(data))
}

// tokenize turns data into literals and distance-1 matches.
func tokenize(data []byte) []uint16 {
	toks := make([]uint16, 0, 16+len(data)/32)
	for i := 0; i < len(data); {
		v := data[i]
		j := i + 1
		if v == 0 {
			for j+8 <= len(data) && binary.LittleEndian.Uint64(data[j:]) == 0 {
				j += 8
			}
		}
		for j < len(data) && data[j] == v {
			j++
		}
		toks = append(toks, uint16(v))
		for rest := j - i - 1; rest > 0; {
			if rest < minMatch {
				for ; rest > 0; rest-- {
					toks = append(toks, uint16(v))
				}
				break
			}
			l := min(rest, maxMatch)
			if r := rest - l; r > 0 && r < minMatch {
				l = rest - minMatch // leave a tail long enough for one more match
			}
			toks = append(toks, uint16(tokenMatchBase+l))
			rest -= l
		}
		i = j
	}
	return toks
}

// writeBlock writes one dynamic-Huffman block of toks.
func writeBlock(w *bitWriter, toks []uint16, final bool) {
	var freq [numLitLen]int
	for _, t := range toks {
		if t < tokenMatchBase {
			freq[t]++
		} else {
			freq[257+int(lengthCode[t-tokenMatchBase])]++
		}
	}
	freq[endOfBlock] = 1
	litLens := huffmanLengths(freq[:], maxCodeBits)
	litCodes := canonicalCodes(litLens)
	// Every match has distance 1 (distance code 0): one code of one bit,
	// which RFC 1951 §3.2.7 allows, even in a block without matches.
	distLens := []uint8{1}

	hlit := numLitLen
	for hlit > 257 && litLens[hlit-1] == 0 {
		hlit--
	}
	lens := append(slices.Clone(litLens[:hlit]), distLens...)
	cl := runLengths(lens)
	var clFreq [19]int
	for _, s := range cl {
		clFreq[s.sym]++
	}
	clLens := huffmanLengths(clFreq[:], maxCLBits)
	clCodes := canonicalCodes(clLens)
	hclen := 19
	for hclen > 4 && clLens[clOrder[hclen-1]] == 0 {
		hclen--
	}

	b := uint64(2 << 1) // BTYPE 10: dynamic Huffman
	if final {
		b |= 1
	}
	w.bits(b, 3)
	w.bits(uint64(hlit-257), 5)
	w.bits(uint64(len(distLens)-1), 5)
	w.bits(uint64(hclen-4), 4)
	for _, s := range clOrder[:hclen] {
		w.bits(uint64(clLens[s]), 3)
	}
	for _, s := range cl {
		w.bits(uint64(clCodes[s.sym]), uint(clLens[s.sym]))
		switch s.sym {
		case 16:
			w.bits(uint64(s.extra), 2)
		case 17:
			w.bits(uint64(s.extra), 3)
		case 18:
			w.bits(uint64(s.extra), 7)
		}
	}
	for _, t := range toks {
		if t < tokenMatchBase {
			w.bits(uint64(litCodes[t]), uint(litLens[t]))
			continue
		}
		l := int(t - tokenMatchBase)
		c := lengthCode[l]
		w.bits(uint64(litCodes[257+int(c)]), uint(litLens[257+int(c)]))
		if e := lengthExtra[c]; e > 0 {
			w.bits(uint64(l-int(lengthBase[c])), uint(e))
		}
		w.bits(0, 1) // distance code 0 (distance 1), whose one-bit code is 0
	}
	w.bits(uint64(litCodes[endOfBlock]), uint(litLens[endOfBlock]))
}

// clSymbol is one code-length code symbol: 0..15 a length, 16 repeat the
// previous length 3..6 times, 17 and 18 repeat zero 3..10 and 11..138 times;
// extra is the repeat count less its minimum.
type clSymbol struct{ sym, extra uint8 }

// runLengths encodes a sequence of code lengths (RFC 1951 §3.2.7).
func runLengths(lens []uint8) []clSymbol {
	var out []clSymbol
	for i := 0; i < len(lens); {
		v := lens[i]
		j := i + 1
		for j < len(lens) && lens[j] == v {
			j++
		}
		run := j - i
		if v == 0 {
			for run >= 11 {
				n := min(run, 138)
				out = append(out, clSymbol{18, uint8(n - 11)})
				run -= n
			}
			if run >= 3 {
				out = append(out, clSymbol{17, uint8(run - 3)})
				run = 0
			}
		} else {
			out = append(out, clSymbol{v, 0})
			run--
			for run >= 3 {
				n := min(run, 6)
				out = append(out, clSymbol{16, uint8(n - 3)})
				run -= n
			}
		}
		for ; run > 0; run-- {
			out = append(out, clSymbol{v, 0})
		}
		i = j
	}
	return out
}

// huffmanLengths returns Huffman code lengths for freq, none longer than
// maxBits; unused symbols get 0. The code is always complete: a lone used
// symbol is paired with an unused one so that both get one bit, which every
// inflater accepts.
func huffmanLengths(freq []int, maxBits int) []uint8 {
	lens := make([]uint8, len(freq))
	var syms []int
	for s, f := range freq {
		if f > 0 {
			syms = append(syms, s)
		}
	}
	switch len(syms) {
	case 0:
		return lens
	case 1:
		lens[syms[0]] = 1
		if syms[0] == 0 {
			lens[1] = 1
		} else {
			lens[0] = 1
		}
		return lens
	}
	// Least frequent first; ties by symbol, so the output is deterministic.
	slices.SortFunc(syms, func(a, b int) int {
		if freq[a] != freq[b] {
			return freq[a] - freq[b]
		}
		return a - b
	})
	// Two-queue Huffman construction: leaves 0..n-1 in weight order,
	// internal nodes n..2n-2 created in weight order.
	n := len(syms)
	weight := make([]int, 2*n-1)
	parent := make([]int, 2*n-1)
	for i, s := range syms {
		weight[i] = freq[s]
	}
	leaf, inner := 0, n
	pick := func(next int) int {
		if leaf < n && (inner >= next || weight[leaf] <= weight[inner]) {
			leaf++
			return leaf - 1
		}
		inner++
		return inner - 1
	}
	for k := n; k < 2*n-1; k++ {
		a := pick(k)
		b := pick(k)
		parent[a], parent[b] = k, k
		weight[k] = weight[a] + weight[b]
	}
	depth := make([]int, 2*n-1)
	count := make([]int, n+1) // count[d]: leaves at depth d
	for x := 2*n - 3; x >= 0; x-- {
		depth[x] = depth[parent[x]] + 1
		if x < n {
			count[depth[x]]++
		}
	}
	maxLen := depth[0] // the least frequent leaf is among the deepest
	for x := 0; x < n; x++ {
		maxLen = max(maxLen, depth[x])
	}
	// Limit the depth as JPEG does (ITU T.81 Annex K.3, Adjust_BITS): move
	// pairs of the deepest leaves up while keeping the code complete.
	for i := maxLen; i > maxBits; i-- {
		for count[i] > 0 {
			j := i - 2
			for count[j] == 0 {
				j--
			}
			count[i] -= 2
			count[i-1]++
			count[j+1] += 2
			count[j]--
		}
	}
	// Longest codes to the least frequent symbols.
	k := 0
	for l := min(maxLen, maxBits); l >= 1; l-- {
		for ; count[l] > 0; count[l]-- {
			lens[syms[k]] = uint8(l)
			k++
		}
	}
	return lens
}

// canonicalCodes returns the canonical Huffman codes for lens (RFC 1951
// §3.2.2), bit-reversed so that they can be written least significant bit
// first.
func canonicalCodes(lens []uint8) []uint16 {
	var count [maxCodeBits + 1]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [maxCodeBits + 2]int
	code := 0
	for l := 1; l <= maxCodeBits; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint16, len(lens))
	for s, l := range lens {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		var r uint16
		for i := uint8(0); i < l; i++ {
			r = r<<1 | uint16(c>>i&1)
		}
		codes[s] = r
	}
	return codes
}

// bitWriter packs bits least significant first, as DEFLATE does.
type bitWriter struct {
	out []byte
	acc uint64
	n   uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// flush writes the remaining bits, padding the last byte with zeros.
func (w *bitWriter) flush() {
	for w.n > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n -= min(w.n, 8)
	}
	w.acc = 0
}

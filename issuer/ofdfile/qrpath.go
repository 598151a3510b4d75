package ofdfile

import "strconv"

// Directions along the module grid, clockwise from right, in page
// coordinates (y grows down).
const (
	right = iota
	down
	left
	up
)

var step = [4][2]int{right: {1, 0}, down: {0, 1}, left: {-1, 0}, up: {0, -1}}

// modulePath is the dark modules of the square matrix m (m[y][x], true
// for dark) as OFD path data (GB/T 33190 §9.3.2) in module units: the
// outline of every dark region, each a closed subpath with a vertex only
// at its corners: fewer vertices, and less text to write and deflate,
// than a rectangle for each run of dark modules (OFD paths have no
// rectangle or relative commands to shorten those).
//
// Every outline runs with the dark modules on its right (outer edges
// clockwise, holes anticlockwise), so the non-zero winding rule, OFD's
// default, and even-odd alike fill exactly the dark modules. How
// outlines that touch at a corner are chained does not matter: the
// winding number at a point is the sum over the edges, whatever the
// loops they are walked in.
func modulePath(m [][]bool) string {
	n := len(m)
	dark := func(x, y int) bool { return x >= 0 && y >= 0 && y < n && x < len(m[y]) && m[y][x] }
	// out[v] holds the edges leaving the grid vertex v = y*w+x, one bit a
	// direction: each side of a dark module that borders a light one (or
	// the matrix's edge), directed with the dark module on its right.
	w := n + 1
	for _, row := range m {
		w = max(w, len(row)+1)
	}
	out := make([]uint8, w*(n+1))
	for y := range n {
		for x := range m[y] {
			if !m[y][x] {
				continue
			}
			if !dark(x, y-1) {
				out[y*w+x] |= 1 << right
			}
			if !dark(x+1, y) {
				out[y*w+x+1] |= 1 << down
			}
			if !dark(x, y+1) {
				out[(y+1)*w+x+1] |= 1 << left
			}
			if !dark(x-1, y) {
				out[(y+1)*w+x] |= 1 << up
			}
		}
	}
	var b []byte
	point := func(cmd byte, v int) {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, cmd, ' ')
		b = strconv.AppendInt(b, int64(v%w), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(v/w), 10)
	}
	// Row by row, the first vertex with an edge left is the top left
	// corner of an outline not yet drawn.
	for start := range out {
		for out[start] != 0 {
			v, d := start, -1
			for out[v] != 0 {
				// Where two outlines touch at a corner (a vertex with two
				// edges out), turn right, clockwise, rather than left.
				nd := -1
				for _, turn := range [4]int{1, 0, 3, 2} { // right, on, left (back: never)
					c := (max(d, 0) + turn) % 4
					if out[v]&(1<<c) != 0 {
						nd = c
						break
					}
				}
				if nd != d {
					if d < 0 {
						point('M', v)
					} else {
						point('L', v)
					}
				}
				out[v] &^= 1 << nd
				v += step[nd][0] + step[nd][1]*w
				d = nd
			}
			b = append(b, " C"...)
		}
	}
	return string(b)
}

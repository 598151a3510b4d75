// Package scan turns what a counter's devices produce into QR texts: lines
// from a keyboard-wedge scanner, and camera images (PNG or JPEG) decoded
// in pure Go with gozxing, tolerant of scaling, rotation and noise.
package scan

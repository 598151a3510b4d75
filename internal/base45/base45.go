// Package base45 implements the Base45 encoding of RFC 9285, whose alphabet
// is exactly the QR code alphanumeric character set, so Base45 text is
// carried in QR alphanumeric mode (5.5 bits a character instead of 8).
package base45

import (
	"errors"
	"fmt"
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

var decodeMap = func() (m [256]int8) {
	for i := range m {
		m[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = int8(i)
	}
	return m
}()

// ErrInvalid is wrapped by every decoding error.
var ErrInvalid = errors.New("base45: invalid input")

// EncodedLen returns the length of the encoding of n bytes.
func EncodedLen(n int) int { return n/2*3 + n%2*2 }

// Encode returns the Base45 encoding of src.
func Encode(src []byte) string {
	dst := make([]byte, 0, EncodedLen(len(src)))
	for i := 0; i+1 < len(src); i += 2 {
		v := int(src[i])<<8 | int(src[i+1])
		dst = append(dst, alphabet[v%45], alphabet[v/45%45], alphabet[v/2025])
	}
	if len(src)%2 == 1 {
		v := int(src[len(src)-1])
		dst = append(dst, alphabet[v%45], alphabet[v/45])
	}
	return string(dst)
}

// Decode returns the bytes s encodes. It rejects characters outside the
// alphabet, a dangling single character, and groups whose value does not
// fit (RFC 9285 §4: "GGW" is 65535+, so anything above it is an error).
func Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, fmt.Errorf("%w: length %d leaves a single trailing character", ErrInvalid, len(s))
	}
	dst := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		n := min(3, len(s)-i)
		v := 0
		for j := n - 1; j >= 0; j-- {
			d := decodeMap[s[i+j]]
			if d < 0 {
				return nil, fmt.Errorf("%w: character %q at offset %d is not in the Base45 alphabet", ErrInvalid, s[i+j], i+j)
			}
			v = v*45 + int(d)
		}
		if n == 3 {
			if v > 0xffff {
				return nil, fmt.Errorf("%w: group %q at offset %d is %d, above 65535", ErrInvalid, s[i:i+3], i, v)
			}
			dst = append(dst, byte(v>>8), byte(v))
		} else {
			if v > 0xff {
				return nil, fmt.Errorf("%w: final pair %q is %d, above 255", ErrInvalid, s[i:i+2], v)
			}
			dst = append(dst, byte(v))
		}
	}
	return dst, nil
}

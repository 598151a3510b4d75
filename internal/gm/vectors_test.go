package gm_test

// Published known-answer vectors (testdata/*.json, each citing its source).

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm4"

	"elicense/internal/gm"
)

// hexBytes is a []byte written as hex (either case) in JSON.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*h = v
	return err
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// The SM2 recommended curve, GB/T 32918.5-2017 §3 (= GM/T 0003.5-2012).
var sm2Curve = struct{ p, a, b, n, gx, gy string }{
	p:  "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF",
	a:  "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
	b:  "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
	n:  "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123",
	gx: "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
	gy: "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// pointOf returns the affine coordinates of d·G, computed by gm.
func pointOf(t *testing.T, d []byte) (x, y []byte) {
	t.Helper()
	k, err := gm.NewPrivateKey(d)
	if err != nil {
		t.Fatal(err)
	}
	un, err := gm.MarshalPublicKey(k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return un[1:33], un[33:]
}

// za computes Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)
// (GB/T 32918.2-2016 §5.5) with gm.SM3 and the published curve constants,
// independently of the library's own Z_A code.
func za(id, x, y []byte) []byte {
	var buf []byte
	buf = binary.BigEndian.AppendUint16(buf, uint16(8*len(id)))
	buf = append(buf, id...)
	for _, c := range []string{sm2Curve.a, sm2Curve.b, sm2Curve.gx, sm2Curve.gy} {
		buf = append(buf, mustHex(c)...)
	}
	buf = append(buf, x...)
	buf = append(buf, y...)
	z := gm.SM3(buf)
	return z[:]
}

func TestCurveConstants(t *testing.T) {
	one := make([]byte, 32)
	one[31] = 1
	gx, gy := pointOf(t, one)
	if !bytes.Equal(gx, mustHex(sm2Curve.gx)) || !bytes.Equal(gy, mustHex(sm2Curve.gy)) {
		t.Fatalf("1·G = (%X, %X), want the published generator", gx, gy)
	}
	if gm.CurveOrder.Text(16) != strings.ToLower(strings.TrimLeft(sm2Curve.n, "0")) {
		t.Fatalf("curve order %X", gm.CurveOrder)
	}
	p := new(big.Int).SetBytes(mustHex(sm2Curve.p))
	if a := new(big.Int).SetBytes(mustHex(sm2Curve.a)); new(big.Int).Sub(p, a).Int64() != 3 {
		t.Fatal("a ≠ p - 3")
	}
}

type sm2Vector struct {
	Name, Source       string
	D                  hexBytes `json:"d"`
	PublicX            hexBytes `json:"public_x"`
	PublicY            hexBytes `json:"public_y"`
	ID                 string   `json:"id"`
	Message            string   `json:"message"`
	Z, E, K, X1, Y1, R hexBytes
	S                  hexBytes `json:"s"`
}

func TestSM2SignatureVectors(t *testing.T) {
	var file struct {
		Comment string
		Vectors []sm2Vector
	}
	loadJSON(t, "sm2_sign_vectors.json", &file)
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	n := gm.CurveOrder
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			pubBytes := append(append([]byte{4}, v.PublicX...), v.PublicY...)
			pub, err := gm.ParsePublicKey(pubBytes)
			if err != nil {
				t.Fatalf("published public key: %v", err)
			}
			rs := append(bytes.Clone(v.R), v.S...)
			der, err := gm.RSToDER(rs)
			if err != nil {
				t.Fatal(err)
			}
			msg, id := []byte(v.Message), []byte(v.ID)

			// (a) the published signature verifies.
			if err := gm.VerifyWithUID(pub, id, msg, der); err != nil {
				t.Fatalf("VerifyWithUID: %v", err)
			}
			if v.ID == gm.DefaultUID {
				if err := gm.Verify(pub, msg, der); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if err := gm.VerifyRS(pub, msg, rs); err != nil {
					t.Fatalf("VerifyRS: %v", err)
				}
			}
			for i, bad := range [][]byte{flip(rs, 0), flip(rs, 63)} {
				d, err := gm.RSToDER(bad)
				if err != nil {
					continue
				}
				if err := gm.VerifyWithUID(pub, id, msg, d); !errors.Is(err, gm.ErrInvalidSignature) {
					t.Errorf("tampered signature %d: got %v, want ErrInvalidSignature", i, err)
				}
			}
			if err := gm.VerifyWithUID(pub, id, append(bytes.Clone(msg), ' '), der); !errors.Is(err, gm.ErrInvalidSignature) {
				t.Errorf("other message: got %v", err)
			}
			if err := gm.VerifyWithUID(pub, append(bytes.Clone(id), '9'), msg, der); !errors.Is(err, gm.ErrInvalidSignature) {
				t.Errorf("other ID: got %v", err)
			}

			// Z and e, recomputed from the curve constants.
			if v.Z != nil {
				if got := za(id, v.PublicX, v.PublicY); !bytes.Equal(got, v.Z) {
					t.Fatalf("Z_A = %X, published %X", got, v.Z)
				}
			}
			e := gm.SM3(append(za(id, v.PublicX, v.PublicY), msg...))
			if v.E != nil && !bytes.Equal(e[:], v.E) {
				t.Fatalf("e = %X, published %X", e, v.E)
			}

			if v.D == nil {
				return
			}
			// (b) the public key derived from d.
			k, err := gm.NewPrivateKey(v.D)
			if err != nil {
				t.Fatal(err)
			}
			if !k.PublicKey().Equal(pub) {
				got, _ := gm.MarshalPublicKey(k.PublicKey())
				t.Fatalf("NewPrivateKey(d).PublicKey() = %X, published %X", got, pubBytes)
			}
			if v.K == nil {
				return
			}
			// (c) the signing equations with the published nonce k:
			// (x1, y1) = k·G, r = (e + x1) mod n, s = (1 + d)⁻¹·(k − r·d) mod n.
			x1, y1 := pointOf(t, v.K)
			if (v.X1 != nil && !bytes.Equal(x1, v.X1)) || (v.Y1 != nil && !bytes.Equal(y1, v.Y1)) {
				t.Fatalf("k·G = (%X, %X), published (%X, %X)", x1, y1, v.X1, v.Y1)
			}
			bi := func(b []byte) *big.Int { return new(big.Int).SetBytes(b) }
			r := new(big.Int).Add(bi(e[:]), bi(x1))
			r.Mod(r, n)
			if r.Cmp(bi(v.R)) != 0 {
				t.Fatalf("r = %X, published %X", r, v.R)
			}
			d := bi(v.D)
			inv := new(big.Int).ModInverse(new(big.Int).Add(d, big.NewInt(1)), n)
			s := new(big.Int).Sub(bi(v.K), new(big.Int).Mul(r, d))
			s.Mul(s, inv).Mod(s, n)
			if s.Cmp(bi(v.S)) != 0 {
				t.Fatalf("s = %X, published %X", s, v.S)
			}
			// And gm signs with the published key, verifiably.
			mine, err := k.Sign(nil, msg, &gm.SignerOpts{UID: id})
			if err != nil {
				t.Fatal(err)
			}
			if err := gm.VerifyWithUID(pub, id, msg, mine); err != nil {
				t.Fatalf("own signature with the published key: %v", err)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func TestSM3Vectors(t *testing.T) {
	var file struct {
		Comment string
		Vectors []struct {
			Source, Message string
			Repeat          int
			Digest          hexBytes
		}
	}
	loadJSON(t, "sm3_vectors.json", &file)
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range file.Vectors {
		msg := []byte(strings.Repeat(v.Message, v.Repeat))
		if got := gm.SM3(msg); !bytes.Equal(got[:], v.Digest) {
			t.Errorf("%s: SM3 = %x, want %x", v.Source, got, v.Digest)
		}
		// Streaming, one byte at a time.
		h := gm.NewSM3()
		for i := range msg {
			h.Write(msg[i : i+1])
		}
		if got := h.Sum(nil); !bytes.Equal(got, v.Digest) {
			t.Errorf("%s: streaming SM3 = %x, want %x", v.Source, got, v.Digest)
		}
	}
}

type sm4Vectors struct {
	Comment string
	Block   []struct {
		Source                     string
		Key, Plaintext, Ciphertext hexBytes
		Iterations                 int
	}
	GCM []struct {
		Source                                      string
		Key, Nonce, AAD, Plaintext, Ciphertext, Tag hexBytes
	}
}

// TestSM4BlockVectors checks the SM4 block cipher under gm's SM4-GCM (gm
// has no raw-block API, and no 12-byte-nonce GCM input makes the cipher
// encrypt a chosen block, so this calls gmsm's sm4 directly).
func TestSM4BlockVectors(t *testing.T) {
	var file sm4Vectors
	loadJSON(t, "sm4_vectors.json", &file)
	for _, v := range file.Block {
		if v.Iterations > 1 && testing.Short() {
			continue
		}
		c, err := sm4.NewCipher(v.Key)
		if err != nil {
			t.Fatal(err)
		}
		buf := bytes.Clone(v.Plaintext)
		for i := 0; i < v.Iterations; i++ {
			c.Encrypt(buf, buf)
		}
		if !bytes.Equal(buf, v.Ciphertext) {
			t.Errorf("%s: got %x, want %x", v.Source, buf, v.Ciphertext)
		}
	}
}

func TestSM4GCMVectors(t *testing.T) {
	var file sm4Vectors
	loadJSON(t, "sm4_vectors.json", &file)
	if len(file.GCM) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range file.GCM {
		// gm's sealed form is nonce ‖ ciphertext ‖ tag.
		sealed := append(append(bytes.Clone(v.Nonce), v.Ciphertext...), v.Tag...)
		pt, err := gm.OpenSM4GCM(v.Key, sealed, v.AAD)
		if err != nil {
			t.Fatalf("%s: OpenSM4GCM: %v", v.Source, err)
		}
		if !bytes.Equal(pt, v.Plaintext) {
			t.Fatalf("%s: plaintext %X", v.Source, pt)
		}
		got, err := gm.SealSM4GCMWithNonce(v.Key, v.Nonce, v.Plaintext, v.AAD)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, sealed) {
			t.Fatalf("%s: sealed\n%X\nwant\n%X", v.Source, got, sealed)
		}
		for _, i := range []int{0, len(v.Nonce), len(sealed) - 1} {
			if _, err := gm.OpenSM4GCM(v.Key, flip(sealed, i), v.AAD); !errors.Is(err, gm.ErrDecrypt) {
				t.Errorf("%s: byte %d flipped: got %v, want ErrDecrypt", v.Source, i, err)
			}
		}
		if _, err := gm.OpenSM4GCM(v.Key, sealed, append(bytes.Clone(v.AAD), 0)); !errors.Is(err, gm.ErrDecrypt) {
			t.Errorf("%s: other AAD: got %v, want ErrDecrypt", v.Source, err)
		}
	}
}

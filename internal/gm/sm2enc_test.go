package gm_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	tjsm2 "github.com/tjfoc/gmsm/sm2"

	"elicense/internal/gm"
)

var encMessages = [][]byte{
	{0},
	[]byte("elicense/receipt/v1\x001.2.156.3005.2.11100000000000000000.11310000PDY100010H.0001\x00"),
	bytes.Repeat([]byte{0xa5}, 4097),
}

func TestSM2EncryptRoundTrip(t *testing.T) {
	k := newKey(t)
	for _, msg := range encMessages {
		ct, err := gm.EncryptSM2(k.PublicKey(), msg)
		if err != nil {
			t.Fatal(err)
		}
		// C1 (two INTEGERs), C3 (32), C2 (len(msg)) and DER framing.
		if len(ct) < len(msg)+32+64 || len(ct) > len(msg)+32+64+20 {
			t.Fatalf("%d-byte message: %d-byte ciphertext", len(msg), len(ct))
		}
		pt, err := gm.DecryptSM2(k, ct)
		if err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("round trip: %v, equal %v", err, bytes.Equal(pt, msg))
		}
		again, _ := gm.EncryptSM2(k.PublicKey(), msg)
		if bytes.Equal(again, ct) {
			t.Fatal("two encryptions of one message are equal")
		}
		if _, err := gm.DecryptSM2(newKey(t), ct); !errors.Is(err, gm.ErrDecryption) {
			t.Fatalf("another key: %v, want ErrDecryption", err)
		}
	}
}

func TestSM2EncryptRefuses(t *testing.T) {
	k := newKey(t)
	for name, msg := range map[string][]byte{"empty": nil, "too long": make([]byte, gm.MaxSM2Plaintext+1)} {
		if _, err := gm.EncryptSM2(k.PublicKey(), msg); err == nil {
			t.Errorf("%s: encrypted", name)
		}
	}
}

func TestSM2DecryptMalformed(t *testing.T) {
	k := newKey(t)
	ct, err := gm.EncryptSM2(k.PublicKey(), []byte("licence"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { b := bytes.Clone(ct); b[i] ^= 1; return b }
	// The raw form gmsm would otherwise take: 04 ‖ x ‖ y ‖ C3 ‖ C2.
	raw := func() []byte {
		b, err := tjsm2.Encrypt(toTjfocPub(k.PublicKey()), []byte("licence"), rand.Reader, tjsm2.C1C3C2)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}()
	cases := map[string][]byte{
		"nil":             nil,
		"trailing byte":   append(bytes.Clone(ct), 0),
		"truncated":       ct[:len(ct)-1],
		"C2 bit flipped":  flip(len(ct) - 1),
		"C3 bit flipped":  flip(len(ct) - 7 - 3),
		"raw C1C3C2":      raw,
		"empty sequence":  {0x30, 0x00},
		"not a sequence":  {0x04, 0x01, 0x00},
		"huge":            make([]byte, gm.MaxSM2Plaintext+1024),
		"sequence of one": {0x30, 0x03, 0x02, 0x01, 0x01},
	}
	for name, in := range cases {
		if pt, err := gm.DecryptSM2(k, in); !errors.Is(err, gm.ErrDecryption) {
			t.Errorf("%s: got %q, %v; want ErrDecryption", name, pt, err)
		}
	}
}

func TestTjfocDecryptsGMCiphertexts(t *testing.T) {
	k := newKey(t)
	tk := toTjfocPriv(k)
	for _, msg := range encMessages {
		ct, err := gm.EncryptSM2(k.PublicKey(), msg)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := tjsm2.DecryptAsn1(tk, ct)
		if err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("tjfoc: %v, equal %v", err, bytes.Equal(pt, msg))
		}
	}
}

func TestGMDecryptsTjfocCiphertexts(t *testing.T) {
	tk := newTjfocKey(t)
	k, err := gm.NewPrivateKey(tk.D.FillBytes(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range encMessages {
		ct, err := tjsm2.EncryptAsn1(&tk.PublicKey, msg, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := gm.DecryptSM2(k, ct)
		if err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("gm: %v, equal %v", err, bytes.Equal(pt, msg))
		}
	}
}

func TestOpenSSLDecryptsGMCiphertexts(t *testing.T) {
	o := newOpenSSL(t)
	k := newKey(t)
	pem, err := gm.MarshalPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	o.write("key.pem", pem)
	for _, msg := range encMessages {
		ct, err := gm.EncryptSM2(k.PublicKey(), msg)
		if err != nil {
			t.Fatal(err)
		}
		o.write("ct", ct)
		o.run("pkeyutl", "-decrypt", "-inkey", "key.pem", "-in", "ct", "-out", "pt")
		if got := o.read("pt"); !bytes.Equal(got, msg) {
			t.Fatalf("openssl decrypted %d bytes, want %d", len(got), len(msg))
		}
	}
}

func TestGMDecryptsOpenSSLCiphertexts(t *testing.T) {
	o := newOpenSSL(t)
	o.run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "key.pem")
	o.run("pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-out", "key8.pem")
	o.run("pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
	k, err := gm.ParsePrivateKeyPEM(o.read("key8.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range encMessages {
		o.write("msg", msg)
		o.run("pkeyutl", "-encrypt", "-pubin", "-inkey", "pub.pem", "-in", "msg", "-out", "ct")
		pt, err := gm.DecryptSM2(k, o.read("ct"))
		if err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("gm: %v, equal %v", err, bytes.Equal(pt, msg))
		}
	}
}

// FuzzDecryptSM2: any input decrypts to the message encrypted, or gives
// ErrDecryption; never a panic or another error.
func FuzzDecryptSM2(f *testing.F) {
	k := fuzzKey(f)
	ct, err := gm.EncryptSM2(k.PublicKey(), []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct)
	f.Add(ct[:40])
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x04})
	f.Fuzz(func(t *testing.T, in []byte) {
		pt, err := gm.DecryptSM2(k, in)
		if err != nil {
			if !errors.Is(err, gm.ErrDecryption) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(pt) == 0 {
			t.Fatal("empty plaintext")
		}
	})
}

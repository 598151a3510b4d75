package gm_test

// Interoperability with the OpenSSL 3 command line (DESIGN.md §3). Every
// test works in t.TempDir() and is skipped only when no openssl binary is on
// PATH. OpenSSL 3.0 needs the SM2 distinguishing ID spelled out
// (-pkeyopt/-sigopt/-vfyopt distid:1234567812345678); without it OpenSSL
// signs and verifies with an empty ID.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"elicense/internal/testneed"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs"
	"github.com/emmansun/gmsm/pkcs8"
	"github.com/emmansun/gmsm/sm2"

	"elicense/internal/gm"
)

const distID = "distid:" + gm.DefaultUID

// openSSL runs the openssl command line in a temporary directory.
type openSSL struct {
	t   *testing.T
	bin string
	dir string
}

func newOpenSSL(t *testing.T) *openSSL {
	t.Helper()
	return &openSSL{t: t, bin: testneed.OpenSSL3(t), dir: t.TempDir()}
}

// path returns name inside the temporary directory.
func (o *openSSL) path(name string) string { return filepath.Join(o.dir, name) }

// write stores data under name in the temporary directory.
func (o *openSSL) write(name string, data []byte) string {
	o.t.Helper()
	p := o.path(name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		o.t.Fatal(err)
	}
	return p
}

// read returns the contents of name in the temporary directory.
func (o *openSSL) read(name string) []byte {
	o.t.Helper()
	b, err := os.ReadFile(o.path(name))
	if err != nil {
		o.t.Fatal(err)
	}
	return b
}

// try runs openssl with args in the temporary directory and returns its
// combined output and error.
func (o *openSSL) try(args ...string) (string, error) {
	cmd := exec.Command(o.bin, args...)
	cmd.Dir = o.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// run is try that stops the test on failure.
func (o *openSSL) run(args ...string) string {
	o.t.Helper()
	out, err := o.try(args...)
	if err != nil {
		o.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// writePublicKey stores pub as a PEM SubjectPublicKeyInfo.
func (o *openSSL) writePublicKey(name string, k *gm.PrivateKey) string {
	o.t.Helper()
	spki, err := gm.MarshalPKIXPublicKey(k.PublicKey())
	if err != nil {
		o.t.Fatal(err)
	}
	return o.write(name, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}))
}

var interopMessages = []struct {
	name string
	msg  []byte
}{
	{"empty", nil},
	{"text", []byte("营业执照 统一社会信用代码 91310000MA1FL0000X")},
	{"256 bytes", bytes.Repeat([]byte{0x5a}, 256)},
	{"binary 10k", func() []byte { b := make([]byte, 10000); rand.Read(b); return b }()},
}

func TestOpenSSLVerifiesGMSignatures(t *testing.T) {
	o := newOpenSSL(t)
	k := newKey(t)
	o.writePublicKey("pub.pem", k)
	for i, tc := range interopMessages {
		t.Run(tc.name, func(t *testing.T) {
			der, err := gm.Sign(k, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			msg := o.write("msg", tc.msg)
			sig := o.write("sig", der)
			out := o.run("pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-digest", "sm3",
				"-pkeyopt", distID, "-in", msg, "-sigfile", sig)
			if !strings.Contains(out, "Signature Verified Successfully") {
				t.Fatalf("openssl output: %s", out)
			}
			// Deterministic nonces (nil rand) must give standard signatures too.
			if i == 1 {
				det, err := k.Sign(nil, tc.msg, nil)
				if err != nil {
					t.Fatal(err)
				}
				o.write("det.sig", det)
				o.run("pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-digest", "sm3",
					"-pkeyopt", distID, "-in", msg, "-sigfile", "det.sig")
			}
			// A different message must fail.
			o.write("other", append(bytes.Clone(tc.msg), '.'))
			if out, err := o.try("pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-digest", "sm3",
				"-pkeyopt", distID, "-in", "other", "-sigfile", sig); err == nil {
				t.Fatalf("openssl accepted the signature over another message: %s", out)
			}
		})
	}
}

func TestGMVerifiesOpenSSLSignatures(t *testing.T) {
	o := newOpenSSL(t)
	keygens := map[string][]string{
		"genpkey":        {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "key.pem"},
		"ecparam-genkey": {"ecparam", "-genkey", "-name", "SM2", "-noout", "-out", "key.pem"},
	}
	for name, keygen := range keygens {
		t.Run(name, func(t *testing.T) {
			o.run(keygen...)
			o.run("pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
			pub := mustParsePublicKeyPEM(t, o.read("pub.pem"))
			// The key itself must load too (genpkey writes PKCS#8; ecparam
			// writes SEC 1, which gm reads once openssl converts it).
			o.run("pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-out", "key8.pem")
			priv, err := gm.ParsePrivateKeyPEM(o.read("key8.pem"), nil)
			if err != nil {
				t.Fatalf("gm cannot parse the OpenSSL key: %v", err)
			}
			if !priv.PublicKey().Equal(pub) {
				t.Fatal("the OpenSSL private key and public key disagree in gm")
			}
			for _, tc := range interopMessages {
				msg := o.write("msg", tc.msg)
				o.run("pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-digest", "sm3",
					"-pkeyopt", distID, "-in", msg, "-out", "sig")
				der := o.read("sig")
				if err := gm.Verify(pub, tc.msg, der); err != nil {
					t.Fatalf("%s: gm rejects the OpenSSL signature %x: %v", tc.name, der, err)
				}
				if err := gm.Verify(pub, append(bytes.Clone(tc.msg), 1), der); !errors.Is(err, gm.ErrInvalidSignature) {
					t.Fatalf("%s: other message: got %v, want ErrInvalidSignature", tc.name, err)
				}
			}
			// Without distid OpenSSL 3.0 signs with an empty ID, which is not
			// the default UID: gm must reject that signature.
			msg := o.write("msg", []byte("no distid"))
			o.run("pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-digest", "sm3", "-in", msg, "-out", "sig")
			if err := gm.Verify(pub, []byte("no distid"), o.read("sig")); !errors.Is(err, gm.ErrInvalidSignature) {
				t.Fatalf("signature made without distid: got %v, want ErrInvalidSignature", err)
			}
		})
	}
}

func mustParsePublicKeyPEM(t *testing.T, data []byte) *ecdsa.PublicKey {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PUBLIC KEY" {
		t.Fatalf("not a PEM public key:\n%s", data)
	}
	pub, err := gm.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatalf("gm.ParsePKIXPublicKey(OpenSSL key): %v", err)
	}
	return pub
}

func TestOpenSSLReadsGMCertificates(t *testing.T) {
	o := newOpenSSL(t)
	c := newChain(t)
	o.write("root.pem", gm.EncodeCertificatePEM(c.rootDER))
	o.write("leaf.pem", gm.EncodeCertificatePEM(c.leafDER))

	text := o.run("x509", "-in", "leaf.pem", "-noout", "-text")
	for _, want := range []string{"Signature Algorithm: SM2-with-SM3", "Issuer: O = elicense, CN = elicense interop root", "ASN1 OID: SM2", "Digital Signature"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", want, text)
		}
	}
	text = o.run("x509", "-in", "root.pem", "-noout", "-text")
	if !strings.Contains(text, "CA:TRUE") || !strings.Contains(text, "Certificate Sign") {
		t.Errorf("openssl does not see a CA root:\n%s", text)
	}

	out := o.run("verify", "-vfyopt", distID, "-CAfile", "root.pem", "leaf.pem")
	if strings.TrimSpace(out) != "leaf.pem: OK" {
		t.Fatalf("openssl verify: %s", out)
	}
	out = o.run("verify", "-vfyopt", distID, "-CAfile", "root.pem", "root.pem")
	if strings.TrimSpace(out) != "root.pem: OK" {
		t.Fatalf("openssl verify root: %s", out)
	}
	// Another root with the same name must not vouch for the leaf.
	other := newChain(t)
	o.write("other.pem", gm.EncodeCertificatePEM(other.rootDER))
	if out, err := o.try("verify", "-vfyopt", distID, "-CAfile", "other.pem", "leaf.pem"); err == nil {
		t.Fatalf("openssl verified the leaf under another root: %s", out)
	}
}

// openSSLChain makes an SM2 root and leaf with the openssl command line and
// returns their PEM bytes.
func openSSLChain(o *openSSL) (rootPEM, leafPEM []byte) {
	o.t.Helper()
	o.write("leaf.ext", []byte("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"))
	o.run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", "root.key")
	o.run("ecparam", "-genkey", "-name", "SM2", "-noout", "-out", "leaf.key")
	o.run("req", "-x509", "-new", "-key", "root.key", "-sm3", "-sigopt", distID,
		"-subj", "/C=CN/O=OpenSSL interop/CN=OpenSSL SM2 root", "-days", "2",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
		"-out", "root.pem")
	o.run("req", "-new", "-key", "leaf.key", "-sm3", "-sigopt", distID,
		"-subj", "/C=CN/O=OpenSSL interop/CN=OpenSSL SM2 leaf", "-out", "leaf.csr")
	o.run("x509", "-req", "-in", "leaf.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "7",
		"-sm3", "-sigopt", distID, "-vfyopt", distID, "-days", "1",
		"-extfile", "leaf.ext", "-out", "leaf.pem")
	return o.read("root.pem"), o.read("leaf.pem")
}

func TestGMReadsOpenSSLCertificates(t *testing.T) {
	o := newOpenSSL(t)
	rootPEM, leafPEM := openSSLChain(o)
	// OpenSSL agrees with itself.
	o.run("verify", "-vfyopt", distID, "-CAfile", "root.pem", "leaf.pem")

	certs, err := gm.ParseCertificatesPEM(append(bytes.Clone(leafPEM), rootPEM...))
	if err != nil {
		t.Fatalf("gm cannot parse the OpenSSL certificates: %v", err)
	}
	leaf, root := certs[0], certs[1]
	if leaf.Subject.CommonName != "OpenSSL SM2 leaf" || root.Subject.CommonName != "OpenSSL SM2 root" {
		t.Fatalf("subjects %q, %q", leaf.Subject, root.Subject)
	}
	if err := gm.VerifyChain(leaf, []*gm.Certificate{root}, nil, time.Now()); err != nil {
		t.Fatalf("gm.VerifyChain(OpenSSL chain): %v", err)
	}
	if err := gm.VerifyChain(root, []*gm.Certificate{root}, nil, time.Now()); err != nil {
		t.Fatalf("gm.VerifyChain(OpenSSL root): %v", err)
	}
	if err := gm.VerifyChain(leaf, []*gm.Certificate{root}, nil, time.Now().Add(72*time.Hour)); !errors.Is(err, gm.ErrUntrusted) {
		t.Fatalf("expired OpenSSL leaf: got %v, want ErrUntrusted", err)
	}
	if err := gm.VerifyChain(leaf, []*gm.Certificate{newChain(t).root}, nil, time.Now()); !errors.Is(err, gm.ErrUntrusted) {
		t.Fatalf("OpenSSL leaf under a gm root: got %v, want ErrUntrusted", err)
	}

	// A leaf made by gm under the OpenSSL root, for the other direction of
	// a mixed chain: OpenSSL must accept it.
	o.run("pkcs8", "-topk8", "-nocrypt", "-in", "root.key", "-out", "root8.key")
	rootKey, err := gm.ParsePrivateKeyPEM(o.read("root8.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	leafKey := newKey(t)
	der, err := gm.CreateCertificate(&gm.Certificate{
		SerialNumber: big.NewInt(99),
		Subject:      pkix.Name{CommonName: "gm leaf under the OpenSSL root"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     gm.KeyUsageDigitalSignature,
	}, root, leafKey.PublicKey(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	o.write("mixed.pem", gm.EncodeCertificatePEM(der))
	o.run("verify", "-vfyopt", distID, "-CAfile", "root.pem", "mixed.pem")
}

// TestOpenSSLEncryptedKeys covers PKCS#8 PBES2 keys between gm and OpenSSL.
//
// OpenSSL 3.0 has no HMAC-SM3 PRF for PBKDF2: "-v2prf hmacWithSM3" is an
// unknown name, and decrypting a key whose PRF is HMAC-SM3 fails with
// "PKCS5_v2_PBKDF2_keyivgen_ex: unsupported prf". Later OpenSSL releases
// (openssl/openssl#19204) know hmacWithSM3, but as OID
// 1.2.156.10197.1.401.3.1 (GM/T 0091-2020 Annex A.2), while gmsm, GmSSL and
// gm write 1.2.156.10197.1.401.2 (Annex C). So gm's own keys do not open in
// OpenSSL 3.0; the test checks that the PRF is the only obstacle.
func TestOpenSSLEncryptedKeys(t *testing.T) {
	o := newOpenSSL(t)
	const pw = "correct horse battery staple"
	o.write("pw", []byte(pw+"\n"))
	k := newKey(t)

	t.Run("gm key in openssl", func(t *testing.T) {
		enc, err := gm.MarshalEncryptedPrivateKey(k, []byte(pw), &gm.KeyEncryption{Iterations: 1000})
		if err != nil {
			t.Fatal(err)
		}
		o.write("gm-enc.pem", enc)
		out, err := o.try("pkey", "-in", "gm-enc.pem", "-passin", "file:pw", "-out", "gm-dec.pem")
		switch {
		case err == nil:
			checkSameKey(t, o.read("gm-dec.pem"), k)
		case strings.Contains(out, "unsupported prf"):
			t.Logf("this OpenSSL cannot read PBKDF2-HMAC-SM3 (1.2.156.10197.1.401.2) keys: %s", lineWith(out, "unsupported prf"))
		default:
			t.Fatalf("openssl pkey failed for a reason other than the HMAC-SM3 PRF:\n%s", out)
		}
	})

	t.Run("gm key with hmacWithSHA256 in openssl", func(t *testing.T) {
		// Same PBES2 + SM4-CBC encoding as gm's, with the one PRF changed:
		// OpenSSL 3.0 reads it, so SM4-CBC and the structure are right.
		der, err := pkcs8.MarshalPrivateKey(mustGmsmKey(t, k), []byte(pw), &pkcs8.Opts{
			Cipher:  pkcs.SM4CBC,
			KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: 1000, HMACHash: pkcs8.SHA256},
		})
		if err != nil {
			t.Fatal(err)
		}
		o.write("sha256-enc.pem", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}))
		o.run("pkey", "-in", "sha256-enc.pem", "-passin", "file:pw", "-out", "sha256-dec.pem")
		checkSameKey(t, o.read("sha256-dec.pem"), k)
	})

	t.Run("independently encoded key in openssl", func(t *testing.T) {
		// pbes2_test.go's encoder, which writes the 1.2.156.10197.1.401.3.1
		// fixture gm must read, produces what OpenSSL reads.
		plain, err := gm.MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(plain)
		o.write("indep-enc.pem", encryptPKCS8(t, b.Bytes, []byte(pw), oidHMACSHA256, sha256.New, 1000))
		o.run("pkey", "-in", "indep-enc.pem", "-passin", "file:pw", "-out", "indep-dec.pem")
		checkSameKey(t, o.read("indep-dec.pem"), k)
	})

	t.Run("openssl key in gm", func(t *testing.T) {
		plain, err := gm.MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		o.write("plain.pem", plain)
		type variant struct{ name, prf string }
		for _, v := range []variant{{"sm4-cbc hmacWithSHA256", "hmacWithSHA256"}, {"sm4-cbc hmacWithSM3", "hmacWithSM3"}} {
			out, err := o.try("pkcs8", "-topk8", "-v2", "sm4-cbc", "-v2prf", v.prf, "-iter", "1000",
				"-in", "plain.pem", "-passout", "file:pw", "-out", "openssl-enc.pem")
			if err != nil {
				if v.prf == "hmacWithSM3" && strings.Contains(out, "Unknown PRF algorithm") {
					t.Logf("%s: this OpenSSL does not know hmacWithSM3: %s", v.name, lineWith(out, "Unknown PRF"))
					continue
				}
				t.Fatalf("%s: openssl pkcs8: %v\n%s", v.name, err, out)
			}
			enc := o.read("openssl-enc.pem")
			got, err := gm.ParsePrivateKeyPEM(enc, []byte(pw))
			if err != nil {
				t.Fatalf("%s: gm cannot decrypt the OpenSSL key: %v", v.name, err)
			}
			if !got.Equal(k) {
				t.Fatalf("%s: gm decrypts another key", v.name)
			}
			if _, err := gm.ParsePrivateKeyPEM(enc, []byte("wrong")); !errors.Is(err, gm.ErrPassphrase) {
				t.Fatalf("%s: wrong passphrase: got %v, want ErrPassphrase", v.name, err)
			}
		}
	})
}

func checkSameKey(t *testing.T, pemBytes []byte, want *gm.PrivateKey) {
	t.Helper()
	got, err := gm.ParsePrivateKeyPEM(pemBytes, nil)
	if err != nil {
		t.Fatalf("parsing the key openssl decrypted: %v\n%s", err, pemBytes)
	}
	if !got.Equal(want) {
		t.Fatal("openssl decrypted another key")
	}
}

// mustGmsmKey converts k to gmsm's type, for encodings gm does not offer.
func mustGmsmKey(t *testing.T, k *gm.PrivateKey) *sm2.PrivateKey {
	t.Helper()
	sk, err := sm2.NewPrivateKey(k.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// lineWith returns the first line of s that contains substr.
func lineWith(s, substr string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func TestSM3MatchesOpenSSL(t *testing.T) {
	o := newOpenSSL(t)
	big := make([]byte, 1<<20+13)
	rand.Read(big)
	inputs := map[string][]byte{
		"empty": nil, "abc": []byte("abc"), "abcd×16": bytes.Repeat([]byte("abcd"), 16), "1MiB+13": big,
	}
	for name, data := range inputs {
		f := o.write("data", data)
		out := o.run("dgst", "-sm3", "-r", f)
		fields := strings.Fields(out)
		if len(fields) == 0 {
			t.Fatalf("%s: openssl dgst output %q", name, out)
		}
		want, err := hex.DecodeString(fields[0])
		if err != nil {
			t.Fatalf("%s: openssl dgst output %q", name, out)
		}
		if got := gm.SM3(data); !bytes.Equal(got[:], want) {
			t.Fatalf("%s: gm.SM3 %x, openssl dgst -sm3 %x", name, got, want)
		}
	}
}

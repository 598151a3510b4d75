package ses_test

import (
	"bytes"
	"crypto/ecdsa"
	"elicense/internal/testneed"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tjsm2 "github.com/tjfoc/gmsm/sm2"
	tjx509 "github.com/tjfoc/gmsm/x509"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

var testDoc = []byte("房屋租赁合同 — 甲方：测试有限公司，乙方：示例科技有限公司。\n")

func TestMakeSealAndSign(t *testing.T) {
	p := newPKI(t)
	for _, listType := range []int64{ses.CertListCerts, ses.CertListDigests} {
		s := p.seal(t, listType)
		if s.Version != ses.V4 || s.Info.Header != (ses.Header{ID: "ES", Version: 4, VID: ses.DefaultVID}) {
			t.Fatalf("header %+v", s.Info.Header)
		}
		if s.Info.Property.CertListType != listType {
			t.Fatalf("certListType %d", s.Info.Property.CertListType)
		}
		if form, err := s.CheckSignature(p.maker.cert); err != nil || form != ses.SignedSealInfo {
			t.Fatalf("maker signature: %v %v", form, err)
		}
		assertRoundTrip(t, s.Raw, s.Marshal)
		if ok, err := s.HasSigner(p.signer.der); !ok || err != nil {
			t.Fatalf("HasSigner(signer) = %v, %v", ok, err)
		}
		if ok, _ := s.HasSigner(p.other.der); ok {
			t.Fatal("HasSigner(other) = true")
		}

		at := p.nb.Add(2 * time.Hour)
		sig, err := ses.SignDocument(s, p.signer.der, p.signer.key, testDoc, at, "contract.txt")
		if err != nil {
			t.Fatal(err)
		}
		assertRoundTrip(t, sig.Raw, sig.Marshal)
		if !sig.TBS.TimeInfo.Time().Equal(at) || sig.TBS.TimeInfo.String() != at.UTC().Format("20060102150405Z") {
			t.Fatalf("timeInfo %s", sig.TBS.TimeInfo)
		}
		if err := sig.CheckSignature(p.signer.cert); err != nil {
			t.Fatal(err)
		}
		if !sig.DigestMatches(testDoc) || sig.DigestMatches(append(testDoc, '!')) {
			t.Fatal("DigestMatches")
		}
		if !bytes.Equal(sig.TBS.Seal.Raw, s.Raw) {
			t.Fatal("the seal inside the signature is not the seal")
		}
		// The DER has exactly the standard's shape: TBS_Sign.version 4,
		// GeneralizedTime, BIT STRING dataHash, IA5String propertyInfo.
		back, err := ses.ParseSignature(sig.Raw)
		if err != nil || back.TBS.ExtDatas != nil || back.Timestamp != nil {
			t.Fatalf("re-parse: %v", err)
		}
	}
}

func TestBuilderRefusals(t *testing.T) {
	p := newPKI(t)
	bad := func(name string, mod func(*ses.SealParams)) {
		t.Helper()
		sp := p.sealParams(ses.CertListCerts)
		mod(&sp)
		if _, err := ses.NewSealInfo(sp); !errors.Is(err, ses.ErrInvalidInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad("no esID", func(sp *ses.SealParams) { sp.ESID = "" })
	bad("non-ASCII esID", func(sp *ses.SealParams) { sp.ESID = "印章" })
	bad("no name", func(sp *ses.SealParams) { sp.Name = "" })
	bad("no signer", func(sp *ses.SealParams) { sp.SignerCerts = nil })
	bad("garbage signer", func(sp *ses.SealParams) { sp.SignerCerts = [][]byte{[]byte("nope")} })
	bad("certListType 3", func(sp *ses.SealParams) { sp.CertListType = 3 })
	bad("empty validity", func(sp *ses.SealParams) { sp.ValidEnd = sp.ValidStart })
	bad("no picture", func(sp *ses.SealParams) { sp.Picture = nil })
	bad("no size", func(sp *ses.SealParams) { sp.WidthMM = 0 })
	bad("type 0", func(sp *ses.SealParams) { sp.Type = 0 })

	info, err := ses.NewSealInfo(p.sealParams(ses.CertListCerts))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ses.SignSeal(info, p.maker.der, p.signer.key); !errors.Is(err, ses.ErrKeyMismatch) {
		t.Errorf("SignSeal with the wrong key: %v", err)
	}
	s := p.seal(t, ses.CertListCerts)
	in := p.nb.Add(2 * time.Hour)
	if _, err := ses.SignDocument(s, p.other.der, p.other.key, testDoc, in, ""); !errors.Is(err, ses.ErrSignerNotInSeal) {
		t.Errorf("signer not in seal: %v", err)
	}
	if _, err := ses.SignDocument(s, p.signer.der, p.other.key, testDoc, in, ""); !errors.Is(err, ses.ErrKeyMismatch) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := ses.SignDocument(s, p.signer.der, p.signer.key, testDoc, p.na, ""); !errors.Is(err, ses.ErrSealNotValid) {
		t.Errorf("after the seal's end: %v", err)
	}
	if _, err := ses.SignDigest(s, p.signer.der, p.signer.key, []byte{1, 2, 3}, in, ""); !errors.Is(err, ses.ErrInvalidInput) {
		t.Errorf("short digest: %v", err)
	}
	if _, err := ses.SignDocument(s, p.signer.der, p.signer.key, testDoc, in, "文件"); !errors.Is(err, ses.ErrInvalidInput) {
		t.Errorf("non-IA5 propertyInfo: %v", err)
	}
}

func TestHolderExtData(t *testing.T) {
	p := newPKI(t)
	sp := p.sealParams(ses.CertListCerts)
	h := ses.Holder{Code: "91310000MA1FL4XX4B", Name: "测试有限公司"}
	ext, err := h.ExtData()
	if err != nil {
		t.Fatal(err)
	}
	sp.ExtDatas = []ses.ExtData{ext}
	info, err := ses.NewSealInfo(sp)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ses.SignSeal(info, p.maker.der, p.maker.key)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Info.Holder()
	if err != nil || !ok || got != h {
		t.Fatalf("Holder() = %+v %v %v", got, ok, err)
	}
	if s.Info.ExtDatas.List[0].ID.String() != ses.HolderOIDString {
		t.Fatalf("extnID %s", s.Info.ExtDatas.List[0].ID)
	}
	assertRoundTrip(t, s.Raw, s.Marshal)
	if _, err := (ses.Holder{Code: "统一代码"}).ExtData(); !errors.Is(err, ses.ErrInvalidInput) {
		t.Errorf("non-printable holder code: %v", err)
	}
}

// OpenSSL 3 checks our signatures over DER(TBS_Sign) and DER(SES_SealInfo)
// with the signer's and maker's certificates, and signs TBS_Sign for us
// to verify (both ways).
func TestOpenSSLInterop(t *testing.T) {
	bin := testneed.OpenSSL3(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	pubPEM := func(name string, certDER []byte) string {
		cert := write(name+".pem", gm.EncodeCertificatePEM(certDER))
		return write(name+".pub.pem", []byte(run("x509", "-in", cert, "-pubkey", "-noout")))
	}
	verify := func(pub, msg, sig string) string {
		return run("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
			"-pkeyopt", "distid:"+gm.DefaultUID, "-in", msg, "-sigfile", sig)
	}

	p := newPKI(t)
	s := p.seal(t, ses.CertListCerts)
	sig, err := ses.SignDocument(s, p.signer.der, p.signer.key, testDoc, p.nb.Add(2*time.Hour), "contract.txt")
	if err != nil {
		t.Fatal(err)
	}
	signerPub, makerPub := pubPEM("signer", p.signer.der), pubPEM("maker", p.maker.der)
	tbs, sigFile := write("tbs.der", sig.RawTBSSign), write("sig.der", sig.Value)
	if out := verify(signerPub, tbs, sigFile); !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("TBS_Sign: %s", out)
	}
	if out := verify(makerPub, write("sealinfo.der", s.RawSealInfo), write("seal.sig", s.SignedValue)); !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("SES_SealInfo: %s", out)
	}
	// A flipped byte must fail under OpenSSL too.
	bad := bytes.Clone(sig.RawTBSSign)
	bad[len(bad)-1] ^= 1
	if out, err := exec.Command(bin, "pkeyutl", "-verify", "-pubin", "-inkey", signerPub, "-rawin", "-digest", "sm3",
		"-pkeyopt", "distid:"+gm.DefaultUID, "-in", write("bad.der", bad), "-sigfile", sigFile).CombinedOutput(); err == nil {
		t.Fatalf("OpenSSL verified a modified TBS_Sign: %s", out)
	}

	// OpenSSL signs TBS_Sign with the signer's key; we verify.
	keyPEM, err := gm.MarshalPrivateKey(p.signer.key)
	if err != nil {
		t.Fatal(err)
	}
	run("pkeyutl", "-sign", "-inkey", write("signer.key", keyPEM), "-rawin", "-digest", "sm3",
		"-pkeyopt", "distid:"+gm.DefaultUID, "-in", tbs, "-out", filepath.Join(dir, "openssl.sig"))
	osig, err := os.ReadFile(filepath.Join(dir, "openssl.sig"))
	if err != nil {
		t.Fatal(err)
	}
	sig2 := *sig
	sig2.Value = osig
	der, err := sig2.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ses.ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.CheckSignature(p.signer.cert); err != nil {
		t.Fatalf("OpenSSL's signature over TBS_Sign: %v", err)
	}

	// The ofdrw seal, cut apart and checked by OpenSSL as its README says.
	ofd, err := ses.ParseSeal(readSample(t, "seal-v4.esl"))
	if err != nil {
		t.Fatal(err)
	}
	if out := verify(pubPEM("ofdrw-maker", ofd.MakerCert), write("ofd-sealinfo.der", ofd.RawSealInfo), write("ofd-seal.sig", ofd.SignedValue)); !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("ofdrw seal: %s", out)
	}
}

// tjfoc/gmsm, the project's test-only second SM2 implementation, accepts
// the signatures too.
func TestTjfocInterop(t *testing.T) {
	p := newPKI(t)
	s := p.seal(t, ses.CertListDigests)
	sig, err := ses.SignDocument(s, p.signer.der, p.signer.key, testDoc, p.nb.Add(2*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	check := func(certDER, msg, value []byte) {
		t.Helper()
		// tjfoc parses the certificate; the key it verifies with is the
		// certificate's, taken through its uncompressed point.
		if _, err := tjx509.ParseCertificate(certDER); err != nil {
			t.Fatalf("tjfoc cannot parse the certificate: %v", err)
		}
		c, err := gm.ParseCertificate(certDER)
		if err != nil {
			t.Fatal(err)
		}
		un, err := gm.MarshalPublicKey(c.PublicKey.(*ecdsa.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		tp := &tjsm2.PublicKey{Curve: tjsm2.P256Sm2(), X: new(big.Int).SetBytes(un[1:33]), Y: new(big.Int).SetBytes(un[33:])}
		if !tp.Verify(msg, value) {
			t.Fatal("tjfoc rejects the signature")
		}
	}
	check(p.signer.der, sig.RawTBSSign, sig.Value)
	check(p.maker.der, s.RawSealInfo, s.SignedValue)
}

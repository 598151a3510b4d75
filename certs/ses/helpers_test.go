package ses_test

import (
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

// sampleDir holds the ofdrw samples (see testdata/ofdrw/README.md).
const sampleDir = "testdata/ofdrw"

func readSample(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sampleDir, filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// party is a certificate and its key.
type party struct {
	der  []byte
	cert *gm.Certificate
	key  *gm.PrivateKey
}

var serial atomic.Int64

func issue(tb testing.TB, cn string, parent *party, ca bool, nb, na time.Time) *party {
	tb.Helper()
	key, err := gm.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &gm.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"elicense test"}},
		NotBefore:    nb, NotAfter: na,
		KeyUsage: gm.KeyUsageDigitalSignature,
	}
	if ca {
		tmpl.KeyUsage = gm.KeyUsageCertSign | gm.KeyUsageCRLSign
		tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	}
	parentCert, parentKey := tmpl, key
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := gm.CreateCertificate(tmpl, parentCert, key.PublicKey(), parentKey)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := gm.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &party{der: der, cert: cert, key: key}
}

// devPKI is a root, a seal maker and two signers, valid a year around now.
type devPKI struct {
	root, maker, signer, other *party
	nb, na                     time.Time
}

func newPKI(tb testing.TB) *devPKI {
	tb.Helper()
	nb := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	na := nb.AddDate(1, 0, 0)
	root := issue(tb, "test root", nil, true, nb, na)
	return &devPKI{
		root:   root,
		maker:  issue(tb, "seal maker", root, false, nb, na),
		signer: issue(tb, "signer", root, false, nb, na),
		other:  issue(tb, "other signer", root, false, nb, na),
		nb:     nb, na: na,
	}
}

// tinyPNG is a valid 1×1 PNG.
var tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

func (p *devPKI) sealParams(listType int64) ses.SealParams {
	return ses.SealParams{
		ESID: "310000TEST0000000001", Type: ses.TypeContract, Name: "测试有限公司合同专用章",
		SignerCerts: [][]byte{p.signer.der}, CertListType: listType,
		CreateDate: p.nb.Add(time.Hour), ValidStart: p.nb.Add(time.Hour), ValidEnd: p.na.Add(-time.Hour),
		Picture: tinyPNG, WidthMM: 40, HeightMM: 40,
	}
}

func (p *devPKI) seal(tb testing.TB, listType int64) *ses.Seal {
	tb.Helper()
	info, err := ses.NewSealInfo(p.sealParams(listType))
	if err != nil {
		tb.Fatal(err)
	}
	s, err := ses.SignSeal(info, p.maker.der, p.maker.key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

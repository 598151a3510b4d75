package seal

import (
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"time"

	"elicense/internal/gm"
)

// HolderKey is a seal holder's new signing key: the key encrypted under
// the holder's passphrase (PKCS#8 PEM) and a self-issued certificate for
// it (PEM), which a seal names as allowed to use it.
type HolderKey struct {
	KeyPEM  []byte
	CertPEM []byte
	KeyID   string // gm.KeyIDString of the certificate
}

// HolderKeyValidity is how long a holder's self-issued certificate is
// valid. A deployment uses its CA's certificates instead.
const HolderKeyValidity = 3 * 365 * 24 * time.Hour

// NewHolderKey makes a signing key for the holder called name, valid from
// now (backdated a few minutes for clock differences) for
// HolderKeyValidity.
func NewHolderKey(name string, passphrase []byte, now time.Time) (*HolderKey, error) {
	if name == "" {
		return nil, errors.New("seal: a holder key needs the holder's name")
	}
	k, err := gm.GenerateKey()
	if err != nil {
		return nil, err
	}
	tmpl := &gm.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(HolderKeyValidity),
		KeyUsage: gm.KeyUsageDigitalSignature | gm.KeyUsageContentCommitment}
	der, err := gm.CreateCertificate(tmpl, tmpl, k.PublicKey(), k)
	if err != nil {
		return nil, err
	}
	enc, err := gm.MarshalEncryptedPrivateKey(k, passphrase, nil)
	if err != nil {
		return nil, err
	}
	return &HolderKey{KeyPEM: enc, CertPEM: gm.EncodeCertificatePEM(der), KeyID: gm.KeyIDString(der)}, nil
}

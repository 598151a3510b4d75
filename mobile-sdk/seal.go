package mobilesdk

import (
	"crypto/x509/pkix"
	"math/big"
	"time"

	"elicense/certs/ses"
	"elicense/internal/gm"
)

// deviceCertFile holds the device key's certificate, the one a holder
// asks an agency to list in a seal (GB/T 38540 certList).
const deviceCertFile = "device-cert.el"

// DeviceCertificate returns the DER certificate of the device key, made
// (self-issued, three years, for holderName) on first use and kept. The
// holder hands it to the agency that makes the holder's seal, so that this
// device can seal documents with it.
func (w *Wallet) DeviceCertificate(holderName string) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if der, err := w.loadSealed(deviceCertFile); err == nil && der != nil {
		return der, nil
	}
	if holderName == "" {
		return nil, wrapf(ErrInvalidArgument, "a holder name is needed for the first certificate")
	}
	now := w.now()
	tmpl := &gm.Certificate{SerialNumber: new(big.Int).SetInt64(now.UnixNano()), Subject: pkix.Name{CommonName: holderName},
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.AddDate(3, 0, 0), KeyUsage: gm.KeyUsageDigitalSignature | gm.KeyUsageContentCommitment}
	der, err := gm.CreateCertificate(tmpl, tmpl, w.key.PublicKey(), w.key)
	if err != nil {
		return nil, err
	}
	if err := w.saveSealed(deviceCertFile, der); err != nil {
		return nil, err
	}
	return der, nil
}

// SealDocument seals a document with a seal (SES_Seal DER) made for this
// device's certificate (DeviceCertificate) and returns the detached
// SES_Signature (GB/T 38540) over SM3 of the document.
func (w *Wallet) SealDocument(sealDER, document []byte) ([]byte, error) {
	s, err := ses.ParseSeal(sealDER)
	if err != nil {
		return nil, wrapf(ErrInvalidArgument, "seal: %v", err)
	}
	w.mu.Lock()
	cert, err := w.loadSealed(deviceCertFile)
	w.mu.Unlock()
	if err != nil || cert == nil {
		return nil, wrapf(ErrInvalidArgument, "this device has no certificate yet (DeviceCertificate)")
	}
	sig, err := ses.SignDocument(s, cert, w.key, document, w.now(), "elicense-wallet")
	if err != nil {
		return nil, wrapf(ErrInvalidArgument, "sealing: %v", err)
	}
	return sig.Raw, nil
}

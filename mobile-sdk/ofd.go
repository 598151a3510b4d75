package mobilesdk

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"elicense/certs/archive"
	"elicense/certs/consent"
	"elicense/certs/ofd"
	"elicense/internal/gm"
)

// The licence's OFD file is kept sealed like the licence, in
// "ofd-<32 hex>.el" (the same hex as the licence's file).
const ofdPrefix = "ofd-"

func ofdFileName(id string) string {
	sum := gm.SM3([]byte(id))
	return ofdPrefix + hex.EncodeToString(sum[:16]) + licSuffix
}

// FetchOFD downloads the licence's sealed OFD file (GB/T 36905: the
// licence face, its metadata and the agency's electronic seal) from the
// issuer it was claimed from, keeps it in the wallet beside the licence
// and returns it. id names the licence as Resolve accepts it. The call is
// authenticated by a proof signed with the device key (docs/consent.md
// §3), so only a bound copy can fetch it; the issuer refuses a licence
// that is not valid (revoked, suspended, superseded), which is
// ErrNoSealedFile with the issuer's words (the status) in its text. The
// file is checked to be an OFD package naming this licence (证照标识); its
// seal is checked by any OFD reader, or elicense-verify ofd.
func (w *Wallet) FetchOFD(id string) ([]byte, error) {
	r, err := w.resolve(id)
	if err != nil {
		return nil, err
	}
	id = r.ID
	w.mu.Lock()
	client, now := w.client, w.now
	w.mu.Unlock()
	if r.CopyOf == "" {
		return nil, wrapf(ErrInvalidArgument, "%q is not a device copy of a licence", id)
	}
	base, err := issuerBase(r.Server)
	if err != nil {
		return nil, err
	}
	path := "/v1/licences/" + url.PathEscape(r.CopyOf) + "/ofd"
	proof, err := consent.SignProof(w.key, consent.ProofClaims{Subject: r.ID, Method: http.MethodGet, Path: serverPath(base) + path, IssuedAt: now()})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		return nil, wrapf(ErrInvalidArgument, "%v", err)
	}
	req.Header.Set("Authorization", consent.AuthScheme+" "+proof)
	var data []byte
	if err := do(client, req, &data); err != nil {
		return nil, ofdRefusal(err)
	}
	if err := checkOFD(data, r.CopyOf); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.saveSealed(ofdFileName(id), data); err != nil {
		return nil, err
	}
	return data, nil
}

// ErrNoSealedFile is FetchOFD's refusal: the issuer holds the licence (or
// this copy) as suspended, revoked or superseded, and seals no file of it,
// since the file would be dated after the licence stopped being valid. It
// also matches ErrLicenceNotValid.
var ErrNoSealedFile = refine(ErrLicenceNotValid, "mobilesdk: the issuer seals no file of a licence it holds as not valid")

// ofdRefusal makes the issuer's 409 to FetchOFD an ErrNoSealedFile: it
// refuses a file, not a claim, and the holder is told why. Its message
// (the licence's status) stays in the error's text.
func ofdRefusal(err error) error {
	var ce *ClaimError
	if errors.As(err, &ce) && ce.Status == http.StatusConflict {
		return &wrapped{reason: ErrNoSealedFile, err: fmt.Errorf("%d %s: %s", ce.Status, ce.Code, ce.Message)}
	}
	return err
}

// OFD returns the licence's OFD file kept by FetchOFD, or nil when none
// was fetched.
func (w *Wallet) OFD(id string) ([]byte, error) {
	r, err := w.resolve(id)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loadSealed(ofdFileName(r.ID))
}

// checkOFD checks that data is an OFD package whose document says it is
// licence id.
func checkOFD(data []byte, id string) error {
	p, err := ofd.Open(data, nil)
	if err != nil {
		return wrapf(ErrForgedAnswer, "the licence file is not an OFD package: %v", err)
	}
	for _, b := range p.Root.Bodies {
		for _, cd := range b.CustomData {
			if cd.Name == archive.ItemID && cd.Value == id {
				return nil
			}
		}
	}
	return wrapf(ErrForgedAnswer, "the licence file does not name licence %s", id)
}

// serverPath is the path part of an issuer base URL ("" for a bare
// host): a proof's htu is the whole request path.
func serverPath(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.EscapedPath(), "/")
}

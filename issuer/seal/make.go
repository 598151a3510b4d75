package seal

import (
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"
	"unicode/utf8"

	"elicense/certs/agencycert"
	"elicense/certs/ident"
	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/issuer/pki"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrInvalid means the Options are unusable (missing holder, bad
	// holder code, empty validity, no signer certificate, a picture that
	// is not a PNG …). Nothing was signed.
	ErrInvalid = errors.New("seal: invalid seal options")
	// ErrMaker means the maker certificate or key cannot make seals: not
	// an agency certificate, not valid now, or not the key's certificate.
	ErrMaker = errors.New("seal: unusable seal maker")
)

// Maker is the seal maker (制章人): an agency's certificate, issued by the
// root, and its key.
type Maker struct {
	Cert   []byte        // DER certificate with role agency (certs/agencycert)
	Signer crypto.Signer // its SM2 key
}

// MakerFromAgency returns the maker for an agency of a loaded PKI.
func MakerFromAgency(a *pki.Agency) Maker { return Maker{Cert: a.CertDER, Signer: a.Signer} }

// Defaults for Options.
const (
	DefaultSizeMM       = 40  // picture width and height, millimetres
	DefaultPicturePixel = 400 // generated picture, 10 px per millimetre
)

// Options describe the seal to make for a holder.
type Options struct {
	HolderName string // 持章单位名称, required
	HolderCode string // 统一社会信用代码 (or 公民身份号码 for a name seal), required

	Type int64  // ses.TypeOfficial (公章, the default), ses.TypeContract (合同专用章) …
	Name string // 印章名称; HolderName + the type's name when empty

	ValidFrom  time.Time // start of validity; the creation time when zero
	ValidUntil time.Time // end of validity, required

	// SignerCerts are the DER certificates allowed to use the seal (one at
	// least). CertListType 1 (ses.CertListCerts, the default) lists them
	// whole, 2 (ses.CertListDigests) by SM3 digest.
	SignerCerts  [][]byte
	CertListType int64

	// Picture is the seal image, a PNG; when nil a round red seal is drawn
	// (DrawRoundSeal). WidthMM and HeightMM are its printed size
	// (DefaultSizeMM when zero).
	Picture  []byte
	WidthMM  int64
	HeightMM int64

	ESID string    // 电子印章标识符; generated when empty (see NewESID)
	VID  string    // vendor identifier; ses.DefaultVID when empty
	Now  time.Time // creation time (制作日期); time.Now() when zero
}

// Made is a seal made for a holder.
type Made struct {
	ESID string    // the seal's identifier
	DER  []byte    // the SES_Seal (GB/T 38540 v4), ready to store and hand out
	Seal *ses.Seal // DER decoded
}

// Make checks o, makes the seal's picture if none is given, and has the
// maker sign the seal. The holder is recorded in the seal's name and in an
// ExtData (ses.Holder).
func Make(m Maker, o Options) (*Made, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	cert, err := gm.ParseCertificate(m.Cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMaker, err)
	}
	if err := agencycert.RequireRole(cert, agencycert.RoleAgency); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMaker, err)
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, fmt.Errorf("%w: maker certificate is valid %s – %s", ErrMaker,
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if m.Signer == nil || !gm.IsSM2PublicKey(m.Signer.Public()) {
		return nil, fmt.Errorf("%w: no SM2 signer", ErrMaker)
	}

	if o.HolderName == "" || !utf8.ValidString(o.HolderName) {
		return nil, fmt.Errorf("%w: holder name is required", ErrInvalid)
	}
	if err := checkHolderCode(o.HolderCode); err != nil {
		return nil, fmt.Errorf("%w: holder code: %v", ErrInvalid, err)
	}
	if o.Type == 0 {
		o.Type = ses.TypeOfficial
	}
	if o.Type < 0 {
		return nil, fmt.Errorf("%w: seal type %d", ErrInvalid, o.Type)
	}
	if o.Name == "" {
		o.Name = o.HolderName + ses.TypeName(o.Type)
	}
	if o.ValidFrom.IsZero() {
		o.ValidFrom = now
	}
	if o.ValidUntil.IsZero() || !o.ValidUntil.After(o.ValidFrom) {
		return nil, fmt.Errorf("%w: validity %s – %s is empty", ErrInvalid,
			o.ValidFrom.Format(time.RFC3339), o.ValidUntil.Format(time.RFC3339))
	}
	if len(o.SignerCerts) == 0 {
		return nil, fmt.Errorf("%w: no signer certificate", ErrInvalid)
	}
	if o.Picture == nil {
		if o.Picture, err = defaultPicture(); err != nil {
			return nil, err
		}
	} else if _, _, err := checkPNG(o.Picture); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if o.WidthMM == 0 {
		o.WidthMM = DefaultSizeMM
	}
	if o.HeightMM == 0 {
		o.HeightMM = DefaultSizeMM
	}
	if o.ESID == "" {
		if o.ESID, err = NewESID(o.HolderCode); err != nil {
			return nil, err
		}
	}
	holder, err := ses.Holder{Code: o.HolderCode, Name: o.HolderName}.ExtData()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}

	info, err := ses.NewSealInfo(ses.SealParams{
		VID: o.VID, ESID: o.ESID, Type: o.Type, Name: o.Name,
		SignerCerts: o.SignerCerts, CertListType: o.CertListType,
		CreateDate: now, ValidStart: o.ValidFrom, ValidEnd: o.ValidUntil,
		PictureType: "PNG", Picture: o.Picture, WidthMM: o.WidthMM, HeightMM: o.HeightMM,
		ExtDatas: []ses.ExtData{holder},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	s, err := ses.SignSeal(info, m.Cert, m.Signer)
	if err != nil {
		if errors.Is(err, ses.ErrKeyMismatch) || errors.Is(err, ses.ErrCertNotValid) {
			return nil, fmt.Errorf("%w: %v", ErrMaker, err)
		}
		return nil, err
	}
	return &Made{ESID: s.Info.ESID, DER: s.Raw, Seal: s}, nil
}

// defaultPicture is DrawRoundSeal(DefaultPicturePixel), drawn once: it is
// the same for every seal, and drawing takes a few hundred milliseconds.
var defaultPicture = sync.OnceValues(func() ([]byte, error) { return DrawRoundSeal(DefaultPicturePixel) })

// checkHolderCode accepts a 统一社会信用代码 or a 公民身份号码.
func checkHolderCode(code string) error {
	err := ident.ValidateUSCC(code)
	if err == nil || ident.ValidateResidentID(code) == nil {
		return nil
	}
	return err
}

// NewESID makes a seal identifier: the six-digit administrative-division
// code of the holder (positions 3–8 of a 统一社会信用代码, or the first six
// digits of a 公民身份号码; 000000 otherwise) followed by 16 random
// decimal digits, 22 digits in all.
func NewESID(holderCode string) (string, error) {
	region := "000000"
	switch {
	case ident.ValidateUSCC(holderCode) == nil:
		region = holderCode[2:8]
	case ident.ValidateResidentID(holderCode) == nil:
		region = holderCode[:6]
	}
	n, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(16), nil))
	if err != nil {
		return "", fmt.Errorf("seal: generating esID: %w", err)
	}
	return fmt.Sprintf("%s%016d", region, n), nil
}

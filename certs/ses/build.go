package ses

import (
	"crypto"
	"crypto/ecdsa"
	"time"
	"unicode/utf8"

	"elicense/internal/gm"
)

// DefaultVID is the vendor identifier (厂商标识, SES_Header.Vid) elicense
// writes when none is given.
const DefaultVID = "elicense"

// SealParams are the contents of a v4 seal to be made.
type SealParams struct {
	VID  string // vendor identifier; DefaultVID when empty
	ESID string // 电子印章标识符, printable ASCII, required

	Type int64  // 印章类型 (TypeOfficial …), at least 1
	Name string // 印章名称, required

	// SignerCerts are the DER certificates allowed to use the seal (at
	// least one, each an SM2 certificate). CertListType says how the seal
	// lists them: CertListCerts (the default) or CertListDigests (SM3).
	SignerCerts  [][]byte
	CertListType int64

	CreateDate time.Time // 制作日期; now when zero
	ValidStart time.Time // 有效起始
	ValidEnd   time.Time // 有效终止, after ValidStart

	PictureType string // "PNG" when empty
	Picture     []byte // image bytes, required
	WidthMM     int64  // display size in millimetres, positive
	HeightMM    int64

	ExtDatas []ExtData // optional vendor data
}

// NewSealInfo checks p and returns the SES_SealInfo of a v4 seal
// (header "ES", version 4). Errors wrap ErrInvalidInput.
func NewSealInfo(p SealParams) (*SealInfo, error) {
	if p.VID == "" {
		p.VID = DefaultVID
	}
	if !isPrintableASCII(p.VID) {
		return nil, wrapf(ErrInvalidInput, "vendor identifier %q is not printable ASCII", p.VID)
	}
	if p.ESID == "" || !isPrintableASCII(p.ESID) {
		return nil, wrapf(ErrInvalidInput, "seal identifier %q must be non-empty printable ASCII", p.ESID)
	}
	if p.Type < 1 {
		return nil, wrapf(ErrInvalidInput, "seal type %d, want 1 or more", p.Type)
	}
	if p.Name == "" || !utf8.ValidString(p.Name) {
		return nil, wrapf(ErrInvalidInput, "seal name must be non-empty UTF-8")
	}
	if p.CertListType == 0 {
		p.CertListType = CertListCerts
	}
	if p.CertListType != CertListCerts && p.CertListType != CertListDigests {
		return nil, wrapf(ErrInvalidInput, "certListType %d, want 1 or 2", p.CertListType)
	}
	if len(p.SignerCerts) == 0 {
		return nil, wrapf(ErrInvalidInput, "no signer certificate")
	}
	prop := Property{Type: p.Type, Name: p.Name, CertListType: p.CertListType}
	for i, der := range p.SignerCerts {
		if _, err := gm.ParseCertificate(der); err != nil {
			return nil, wrapf(ErrInvalidInput, "signer certificate %d: %v", i, err)
		}
		if p.CertListType == CertListCerts {
			prop.Certs = append(prop.Certs, append([]byte(nil), der...))
		} else {
			h := gm.SM3(der)
			prop.CertDigests = append(prop.CertDigests, CertDigest{Type: "SM3", Value: h[:]})
		}
	}
	if p.CreateDate.IsZero() {
		p.CreateDate = time.Now()
	}
	if !p.ValidEnd.After(p.ValidStart) || p.ValidStart.IsZero() {
		return nil, wrapf(ErrInvalidInput, "validity %s – %s is empty", p.ValidStart, p.ValidEnd)
	}
	prop.CreateDate = GeneralizedTime(p.CreateDate)
	prop.ValidStart = GeneralizedTime(p.ValidStart)
	prop.ValidEnd = GeneralizedTime(p.ValidEnd)
	if p.PictureType == "" {
		p.PictureType = "PNG"
	}
	if !isPrintableASCII(p.PictureType) {
		return nil, wrapf(ErrInvalidInput, "picture type %q is not printable ASCII", p.PictureType)
	}
	if len(p.Picture) == 0 {
		return nil, wrapf(ErrInvalidInput, "no seal picture")
	}
	if p.WidthMM <= 0 || p.HeightMM <= 0 {
		return nil, wrapf(ErrInvalidInput, "picture size %d×%d mm, want positive", p.WidthMM, p.HeightMM)
	}
	info := &SealInfo{
		Header:   Header{ID: "ES", Version: 4, VID: p.VID},
		ESID:     p.ESID,
		Property: prop,
		Picture:  Picture{Type: p.PictureType, Data: append([]byte(nil), p.Picture...), Width: p.WidthMM, Height: p.HeightMM},
	}
	if p.ExtDatas != nil {
		for i, e := range p.ExtDatas {
			if !e.ID.valid() {
				return nil, wrapf(ErrInvalidInput, "extDatas[%d]: bad extnID", i)
			}
		}
		info.ExtDatas = &Extensions{List: append([]ExtData(nil), p.ExtDatas...)}
	}
	return info, nil
}

// SignSeal has the maker sign info (DER(SES_SealInfo), SM2 with SM3) and
// returns the v4 seal, parsed back from its encoding so that Raw and
// RawSealInfo are set. signer must hold the key of makerCertDER, which
// must be valid at the seal's creation date.
func SignSeal(info *SealInfo, makerCertDER []byte, signer crypto.Signer) (*Seal, error) {
	if info.Property.CertListType == 0 {
		return nil, wrapf(ErrInvalidInput, "a v4 seal needs certListType (use NewSealInfo)")
	}
	maker, err := parseCert(makerCertDER, "maker")
	if err != nil {
		return nil, err
	}
	if err := keyMatches(maker, signer); err != nil {
		return nil, err
	}
	if at := info.Property.CreateDate.Time(); at.Before(maker.NotBefore) || at.After(maker.NotAfter) {
		return nil, wrapf(ErrCertNotValid, "maker certificate is valid %s – %s, seal made %s",
			maker.NotBefore.UTC().Format(time.RFC3339), maker.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	tbs, err := info.Marshal()
	if err != nil {
		return nil, err
	}
	sig, err := gm.Sign(signer, tbs)
	if err != nil {
		return nil, err
	}
	s := &Seal{Version: V4, Info: *info, MakerCert: makerCertDER, SignAlg: OIDSM3WithSM2, SignedValue: sig}
	der, err := s.Marshal()
	if err != nil {
		return nil, err
	}
	return ParseSeal(der)
}

// SignDocument signs doc with seal: SignDigest over SM3(doc).
func SignDocument(seal *Seal, signerCertDER []byte, signer crypto.Signer, doc []byte, at time.Time, propertyInfo string) (*Signature, error) {
	h := gm.SM3(doc)
	return SignDigest(seal, signerCertDER, signer, h[:], at, propertyInfo)
}

// SignDigest makes a detached v4 SES_Signature: TBS_Sign {version 4, the
// seal, timeInfo at, dataHash digest (32-byte SM3 of the protected data),
// propertyInfo (IA5String, e.g. the document's name or path)} signed with
// SM2/SM3 by signer. It refuses what a verifier would reject: a v1 seal,
// a signer certificate the seal does not list, a signing time outside the
// seal's or the certificate's validity, a key that is not the
// certificate's.
func SignDigest(seal *Seal, signerCertDER []byte, signer crypto.Signer, digest []byte, at time.Time, propertyInfo string) (*Signature, error) {
	if seal == nil || seal.Version != V4 {
		return nil, wrapf(ErrInvalidInput, "a v4 seal is required")
	}
	if len(digest) != gm.SM3Size {
		return nil, wrapf(ErrInvalidInput, "digest is %d bytes, want %d (SM3)", len(digest), gm.SM3Size)
	}
	if !isPrintableASCII(propertyInfo) && propertyInfo != "" {
		return nil, wrapf(ErrInvalidInput, "propertyInfo %q is not printable ASCII (IA5String)", propertyInfo)
	}
	ok, err := seal.HasSigner(signerCertDER)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrSignerNotInSeal
	}
	cert, err := parseCert(signerCertDER, "signer")
	if err != nil {
		return nil, err
	}
	at = at.UTC().Truncate(time.Second)
	p := &seal.Info.Property
	if at.Before(p.ValidStart.Time()) || at.After(p.ValidEnd.Time()) {
		return nil, wrapf(ErrSealNotValid, "seal is valid %s – %s, signing at %s", p.ValidStart, p.ValidEnd, at.Format(time.RFC3339))
	}
	if at.Before(cert.NotBefore) || at.After(cert.NotAfter) {
		return nil, wrapf(ErrCertNotValid, "signer certificate is valid %s – %s, signing at %s",
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339), at.Format(time.RFC3339))
	}
	tbs := TBSSign{
		Version:      4,
		Seal:         seal,
		TimeInfo:     GeneralizedTime(at),
		DataHash:     append([]byte(nil), digest...),
		PropertyInfo: propertyInfo,
	}
	return SignTBS(tbs, signerCertDER, signer)
}

// SignTBS signs a TBS_Sign built by the caller and returns the v4
// signature, parsed back from its encoding. It checks only that signer
// holds the certificate's key; SignDigest is the checked way to sign.
// (Tests use SignTBS to make signatures a verifier must reject.)
func SignTBS(tbs TBSSign, signerCertDER []byte, signer crypto.Signer) (*Signature, error) {
	cert, err := parseCert(signerCertDER, "signer")
	if err != nil {
		return nil, err
	}
	if err := keyMatches(cert, signer); err != nil {
		return nil, err
	}
	sig := &Signature{Version: V4, TBS: tbs, SignerCert: signerCertDER, SignAlg: OIDSM3WithSM2}
	msg, err := sig.MarshalTBS()
	if err != nil {
		return nil, err
	}
	if sig.Value, err = gm.Sign(signer, msg); err != nil {
		return nil, err
	}
	der, err := sig.Marshal()
	if err != nil {
		return nil, err
	}
	return ParseSignature(der)
}

func keyMatches(cert *gm.Certificate, signer crypto.Signer) error {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(signer.Public()) {
		return ErrKeyMismatch
	}
	return nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

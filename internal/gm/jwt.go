package gm

import (
	"crypto"
	"crypto/ecdsa"
	"errors"

	"github.com/golang-jwt/jwt/v5"
)

// AlgSM2SM3 is the JWS "alg" for SM2 signatures with SM3 and the default
// user ID; the signature is the fixed 64-byte r‖s, as JWS does for ECDSA.
const AlgSM2SM3 = "SM2SM3"

// SigningMethodSM2SM3 is the golang-jwt signing method for AlgSM2SM3. Sign
// takes any SM2 crypto.Signer; Verify takes an SM2 *ecdsa.PublicKey. It is
// registered with jwt on package initialisation.
var SigningMethodSM2SM3 jwt.SigningMethod = signingMethodSM2SM3{}

func init() {
	jwt.RegisterSigningMethod(AlgSM2SM3, func() jwt.SigningMethod { return SigningMethodSM2SM3 })
}

type signingMethodSM2SM3 struct{}

func (signingMethodSM2SM3) Alg() string { return AlgSM2SM3 }

func (signingMethodSM2SM3) Sign(signingString string, key any) ([]byte, error) {
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	return SignRS(s, []byte(signingString))
}

func (signingMethodSM2SM3) Verify(signingString string, sig []byte, key any) error {
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return jwt.ErrInvalidKeyType
	}
	err := VerifyRS(pub, []byte(signingString), sig)
	if errors.Is(err, ErrInvalidSignature) || errors.Is(err, ErrMalformedSignature) {
		return errors.Join(jwt.ErrSignatureInvalid, err)
	}
	return err
}

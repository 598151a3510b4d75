package trust

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"elicense/internal/gm"

	"github.com/golang-jwt/jwt/v5"
)

// Sign returns b as a signed trust bundle: a compact JWS with alg SM2SM3,
// typ elicense-trust+jwt and the signer's certificate chain in x5c. chain
// is the signer certificate first, up to and including the root; the
// signer is the root itself or the ledger/status signer. When
// b.BundleSigner is empty Sign fills it with chain; otherwise it must equal
// chain.
//
// Sign then verifies its own output as a counter would (with the chain's
// last certificate as the pinned root, at b.IssuedAt) and returns that
// error instead of a bundle no counter would accept.
func Sign(b *Bundle, signer crypto.Signer, chain [][]byte) (string, error) {
	if len(chain) == 0 || len(chain) > maxChain {
		return "", errf(ErrMalformed, "chain of %d certificates, want 1 to %d", len(chain), maxChain)
	}
	certs := make([]*gm.Certificate, len(chain))
	x5c := make([]string, len(chain))
	for i, der := range chain {
		c, err := gm.ParseCertificate(der)
		if err != nil {
			return "", errf(ErrMalformed, "chain[%d]: %v", i, err)
		}
		certs[i] = c
		x5c[i] = base64.StdEncoding.EncodeToString(der)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(certs[0].PublicKey) {
		return "", errf(ErrUntrustedSigner, "the signer's key is not the key of chain[0]")
	}
	if len(b.BundleSigner) == 0 {
		b.BundleSigner = chain
	} else if !equalChains(b.BundleSigner, chain) {
		return "", errf(ErrMalformed, "bundle_signer differs from the chain given")
	}
	payload, err := json.Marshal(b)
	if err != nil {
		return "", errf(ErrMalformed, "%v", err)
	}
	t := jwt.NewWithClaims(gm.SigningMethodSM2SM3, rawClaims(payload))
	t.Header["typ"] = TokenType
	t.Header["x5c"] = x5c
	tok, err := t.SignedString(signer)
	if err != nil {
		return "", fmt.Errorf("trust: signing: %w", err)
	}
	if _, err := Verify(tok, VerifyOptions{Roots: certs[len(certs)-1:], Now: b.IssuedAt}); err != nil {
		return "", fmt.Errorf("trust: refusing to sign a bundle a counter would reject: %w", err)
	}
	return tok, nil
}

// rawClaims is a JWT payload marshalled beforehand; its jwt.Claims methods
// are never used.
type rawClaims []byte

func (c rawClaims) MarshalJSON() ([]byte, error)               { return c, nil }
func (rawClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (rawClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (rawClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (rawClaims) GetIssuer() (string, error)                   { return "", nil }
func (rawClaims) GetSubject() (string, error)                  { return "", nil }
func (rawClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

package api

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"elicense/certs/consent"
	"elicense/issuer/service"

	"github.com/labstack/echo/v4"
)

// ofdFile serves GET /v1/licences/{id}/ofd, the licence as a sealed OFD
// file (issuer/ofdfile): to an operator, auditor or admin with a bearer
// token, as /face, or to the holder of a bound copy of the licence with
// an ELProof signed by the copy's device key (docs/consent.md §3).
func (a *API) ofdFile(c echo.Context) error {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	if scheme, _, _ := strings.Cut(h, " "); strings.EqualFold(scheme, consent.AuthScheme) {
		return a.holderOFD(c, h)
	}
	return a.auth(func(c echo.Context) error {
		data, err := a.o.Service.LicenceOFD(operator(c), idParam(c))
		if err != nil {
			return err
		}
		return sendOFD(c, idParam(c), data)
	})(c)
}

// holderOFD checks the holder's proof: its sub a copy (licence#tag), its
// signature by that copy's device key, its method and path this call's,
// its iat within the skew and its jti not seen within the replay window.
func (a *API) holderOFD(c echo.Context, header string) error {
	p, err := consent.ParseAuthorization(header)
	if err != nil {
		return ofdProofInvalid("%v", err)
	}
	if !strings.Contains(p.Subject, "#") {
		return ofdProofInvalid("the proof's sub must be a licence copy (licence#tag)")
	}
	key, err := a.o.Service.CopyDeviceKey(p.Subject)
	if err != nil {
		var se *service.Error
		if errors.As(err, &se) && errors.Is(se, service.ErrUnavailable) {
			return err
		}
		return ofdProofInvalid("no key signs proofs for sub %q", p.Subject)
	}
	r := c.Request()
	now := time.Now()
	// htu is the path as sent: escaped, as the client wrote it.
	if err := p.Verify(key, r.Method, r.URL.EscapedPath(), nil, now); err != nil {
		return ofdProofInvalid("%v", err)
	}
	switch ofdJTIs.remember(p.JTI, now) {
	case jtiSeen:
		return ofdProofInvalid("jti %q was used within the last %v", p.JTI, consent.ProofReplayWindow)
	case jtiNoRoom:
		c.Response().Header().Set("Retry-After", "1")
		return fail(http.StatusTooManyRequests, "RATE_LIMITED", "", "too many proofs in flight; try again in a second")
	}
	data, err := a.o.Service.HolderOFD(p.Subject, idParam(c))
	if err != nil {
		return err
	}
	return sendOFD(c, idParam(c), data)
}

func sendOFD(c echo.Context, id string, data []byte) error {
	h := c.Response().Header()
	// The id is a licence the service found: GB/T 36904 characters only.
	h.Set("Content-Disposition", `attachment; filename="`+id+`.ofd"`)
	h.Set("Cache-Control", "no-store") // personal data
	return c.Blob(http.StatusOK, "application/ofd", data)
}

func ofdProofInvalid(format string, args ...any) *apiError {
	return fail(http.StatusUnauthorized, "PROOF_INVALID", "", format, args...)
}

// ofdJTIs is the memory of the holders' proof ids this process accepted,
// for consent.ProofReplayWindow: a replayed proof fetches nothing more
// than its first use did, but the contract (docs/consent.md §3) refuses
// it. It is bounded; when full, proofs wait (429) rather than a live jti
// be forgotten.
var ofdJTIs = &jtiMemory{max: 1 << 16}

type jtiResult int

const (
	jtiNew jtiResult = iota
	jtiSeen
	jtiNoRoom
)

type jtiMemory struct {
	mu   sync.Mutex
	seen map[string]time.Time
	max  int
}

func (m *jtiMemory) remember(jti string, now time.Time) jtiResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	if t, ok := m.seen[jti]; ok && now.Sub(t) < consent.ProofReplayWindow {
		return jtiSeen
	}
	if len(m.seen) >= m.max {
		for k, t := range m.seen {
			if now.Sub(t) >= consent.ProofReplayWindow {
				delete(m.seen, k)
			}
		}
		if len(m.seen) >= m.max {
			return jtiNoRoom
		}
	}
	m.seen[jti] = now
	return jtiNew
}

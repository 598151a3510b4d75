package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"elicense/certs/consent"
	"elicense/issuer/service"

	"github.com/labstack/echo/v4"
)

// maxJTIs bounds the proofs' jti memory of one replica: the proofs
// accepted in one replay window (docs/consent.md §3). Past it, proofs are
// refused for a moment (429) rather than a live jti forgotten.
const maxJTIs = 1 << 18

// callerKey is where proofAuth leaves the verified caller.
const callerKey = "proof-caller"

// proofAuth requires "Authorization: ELProof <JWS>" signed by the
// subject's key: a relying party's registered key, or a bound copy's
// device key. It reads the body (its SM3 is in the proof) and puts it
// back for the handler. want limits who may call: a relying party, a
// holder, or either.
func (h *consentAPI) proofAuth(want proofSubject) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			auth := r.Header.Get(echo.HeaderAuthorization)
			if auth == "" {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, consent.AuthScheme+` realm="elicense"`)
				return proofInvalid("an ELProof authorization is required")
			}
			p, err := consent.ParseAuthorization(auth)
			if err != nil {
				return proofInvalid("%v", err)
			}
			isHolder := strings.Contains(p.Subject, "#")
			switch {
			case want == subjectRP && isHolder:
				return proofInvalid("this call is a relying party's; the proof's sub is a licence copy")
			case want == subjectHolder && !isHolder:
				return proofInvalid("this call is a holder's; the proof's sub must be a licence copy (licence#tag)")
			}
			body, err := readBody(c)
			if err != nil {
				return err
			}
			key, err := h.a.o.Service.ProofKey(p.Subject)
			if err != nil {
				var se *service.Error
				if errors.As(err, &se) && errors.Is(se, service.ErrUnavailable) {
					return err
				}
				// Unknown, removed or unbound: said alike, the
				// registrations are public but copies are not.
				return proofInvalid("no key signs proofs for sub %q", p.Subject)
			}
			now := time.Now()
			// htu is the path as sent: escaped, as the client wrote it.
			if err := p.Verify(key, r.Method, r.URL.EscapedPath(), body, now); err != nil {
				return proofInvalid("%v", err)
			}
			switch h.jtis.remember(p.Subject, p.JTI, isHolder, now) {
			case jtiReplay:
				return proofInvalid("jti %q was used within the last %v", p.JTI, consent.ProofReplayWindow)
			case jtiFull:
				c.Response().Header().Set("Retry-After", "1")
				return fail(http.StatusTooManyRequests, "RATE_LIMITED", "", "too many proofs in flight; try again in a second")
			}
			caller := service.Caller{RP: p.Subject}
			if isHolder {
				caller = service.Caller{Copy: p.Subject}
			}
			c.Set(callerKey, caller)
			return next(c)
		}
	}
}

// proofSubject says who may sign a proof for a route.
type proofSubject int

const (
	subjectRP proofSubject = iota + 1
	subjectHolder
	subjectEither
)

func proofInvalid(format string, args ...any) *apiError {
	return fail(http.StatusUnauthorized, "PROOF_INVALID", "", format, args...)
}

// readBody reads the whole body, within the body limit, and puts it back.
func readBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		var he *echo.HTTPError
		switch {
		case errors.As(err, &mbe):
			return nil, fail(http.StatusRequestEntityTooLarge, "too_large", "", "request body over %d bytes", mbe.Limit)
		case errors.As(err, &he):
			return nil, he
		default:
			return nil, fail(http.StatusBadRequest, "bad_request", "", "reading the body: %v", err)
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return data, nil
}

func caller(c echo.Context) service.Caller { return c.Get(callerKey).(service.Caller) }

// rpLimit is the per-party fetch limit: after proofAuth, 429 with
// Retry-After when the party's bucket is empty.
func (h *consentAPI) rpLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ok, wait := h.limit.allow(caller(c).RP)
		if !ok {
			secs := int(wait/time.Second) + 1
			c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
			return fail(http.StatusTooManyRequests, "RATE_LIMITED", "", "too many fetches by this relying party; retry after %d s", secs)
		}
		return next(c)
	}
}

package api

import (
	"net/http"
	"net/url"
	"strings"

	"elicense/certs/consent"

	"github.com/labstack/echo/v4"
)

// ofdFile serves GET /v1/licences/{id}/ofd, the licence as a sealed OFD
// file (issuer/ofdfile): to an operator, auditor or admin with a bearer
// token, as /face, or to the holder of a bound copy of the licence with
// an ELProof signed by the copy's device key (docs/consent.md §3).
func (a *API) ofdFile(c echo.Context) error {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	if scheme, _, _ := strings.Cut(h, " "); strings.EqualFold(scheme, consent.AuthScheme) {
		return a.holderProof(a.holderOFD)(c)
	}
	return a.auth(func(c echo.Context) error {
		// A holder's device copy (licence#tag) is sealed as the licence
		// it copies: say so, rather than fail on the copy's device-bound
		// QR. The id's form tells, so nothing is looked up for it.
		if lic, _, ok := strings.Cut(idParam(c), "#"); ok {
			return fail(http.StatusNotFound, "not_found", "id",
				"%s is a holder's device copy, which has no file of its own: ask for the licence's, GET /v1/licences/%s/ofd", idParam(c), url.PathEscape(lic))
		}
		data, err := a.o.Service.LicenceOFD(operator(c), idParam(c))
		if err != nil {
			return err
		}
		return sendOFD(c, idParam(c), data)
	})(c)
}

// holderOFD answers the holder whose proof a.holderProof checked.
func (a *API) holderOFD(c echo.Context) error {
	data, err := a.o.Service.HolderOFD(caller(c).Copy, idParam(c))
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

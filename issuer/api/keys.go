package api

import (
	"net/http"
	"time"

	"elicense/issuer/service"

	"github.com/labstack/echo/v4"
)

// rotateBody is the optional body of a key rotation.
type rotateBody struct {
	// CompromisedSince (RFC 3339), when set, rotates the key out as
	// compromised since then instead of retired.
	CompromisedSince string `json:"compromised_since,omitempty"`
}

// compromiseBody is the body of a key compromise.
type compromiseBody struct {
	Since string `json:"since"` // RFC 3339
}

// rotateKey gives an agency a new signing key (service.RotateKey); the
// body is optional.
func (a *API) rotateKey(c echo.Context) error {
	var body rotateBody
	r := c.Request()
	if r.ContentLength != 0 || r.Header.Get(echo.HeaderContentType) != "" {
		if err := bindJSON(c, &body); err != nil {
			return err
		}
	}
	var req service.RotateRequest
	if body.CompromisedSince != "" {
		t, err := parseTime("compromised_since", body.CompromisedSince)
		if err != nil {
			return err
		}
		req.CompromisedSince = t
	}
	ch, err := a.o.Service.RotateKey(r.Context(), operator(c), c.Param("code"), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch)
}

// compromiseKey declares an agency key compromised
// (service.CompromiseKey).
func (a *API) compromiseKey(c echo.Context) error {
	var body compromiseBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	if body.Since == "" {
		return fail(http.StatusUnprocessableEntity, "invalid", "since", "since (RFC 3339) is required")
	}
	since, err := parseTime("since", body.Since)
	if err != nil {
		return err
	}
	ch, err := a.o.Service.CompromiseKey(c.Request().Context(), operator(c), c.Param("code"), c.Param("kid"), since)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch)
}

func parseTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, fail(http.StatusBadRequest, "bad_request", field, "%s must be an RFC 3339 time such as 2026-11-20T09:00:00+08:00: %v", field, err)
	}
	return t, nil
}

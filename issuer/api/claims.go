package api

import (
	"encoding/json"
	"net/http"
	"time"

	"elicense/issuer/service"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/labstack/echo/v4"
)

func (a *API) newClaimCode(c echo.Context) error {
	code, exp, err := a.o.Service.NewClaimCode(operator(c), idParam(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]string{"code": code, "expires": exp.UTC().Format(time.RFC3339)})
}

func (a *API) unbind(c echo.Context) error {
	rec, err := a.o.Service.Unbind(c.Request().Context(), operator(c), idParam(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view(rec))
}

func (a *API) challenge(c echo.Context) error {
	ch, exp := a.o.Service.Challenge()
	return c.JSON(http.StatusCreated, map[string]string{"challenge": ch, "expires": exp.UTC().Format(time.RFC3339)})
}

// claimResponse gives the wallet what it keeps: the bound credential and
// the QR core (qr.Holding JSON) it presents from.
type claimResponse struct {
	licenceView
	Holding json.RawMessage `json:"holding"`
}

func (a *API) claim(c echo.Context) error {
	var req service.ClaimRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	rec, err := a.o.Service.Claim(c.Request().Context(), req)
	if err != nil {
		return err
	}
	v := view(rec)
	v.QR = ""
	h, err := jsonv2.Marshal(rec.Holding)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, claimResponse{licenceView: v, Holding: h})
}

package api

import (
	"net/http"

	"elicense/issuer/service"

	"github.com/labstack/echo/v4"
)

func (a *API) makeSeal(c echo.Context) error {
	var req service.SealRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	m, err := a.o.Service.MakeSeal(c.Request().Context(), operator(c), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}

func (a *API) revokeSeal(c echo.Context) error {
	var body statusBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	r, err := a.o.Service.RevokeSeal(c.Request().Context(), operator(c), c.Param("esid"), body.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewSeal(r))
}

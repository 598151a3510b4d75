package api

import (
	"net/http"
	"time"

	"elicense/issuer/service"

	"github.com/labstack/echo/v4"
)

func (a *API) revokeToken(c echo.Context) error {
	if operator(c).Role != service.RoleAdmin {
		return fail(http.StatusForbidden, "forbidden", "", "only admins revoke tokens")
	}
	if err := a.o.Store.RevokeToken(c.Param("jti"), time.Now().Add(366*24*time.Hour)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// backup streams a consistent copy of the data file (the ledger and the
// state kept with it), taken in a bbolt read transaction while the server
// keeps working.
func (a *API) backup(c echo.Context) error {
	if operator(c).Role != service.RoleAdmin {
		return fail(http.StatusForbidden, "forbidden", "", "only admins take backups")
	}
	if a.o.Backup == nil {
		return fail(http.StatusNotFound, "not_found", "", "backups are not available here")
	}
	write, name := a.o.Backup, "ledger.db"
	c.Response().Header().Set(echo.HeaderContentType, "application/octet-stream")
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Response().WriteHeader(http.StatusOK)
	_, err := write(c.Response())
	return err
}

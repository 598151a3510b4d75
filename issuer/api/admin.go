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
	jti := c.Param("jti")
	if !validJTI(jti) {
		return fail(http.StatusBadRequest, "bad_request", "jti", "a token ID is 1 to %d letters, digits, '-' or '_'", maxJTI)
	}
	if err := a.o.Store.RevokeToken(jti, time.Now().Add(366*24*time.Hour)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// backup streams a consistent copy of the data file (the ledger and the
// state kept with it), taken in a bbolt read transaction while the server
// keeps working. A deployment on a database is backed up with the
// database's tools, and says so.
func (a *API) backup(c echo.Context) error {
	if operator(c).Role != service.RoleAdmin {
		return fail(http.StatusForbidden, "forbidden", "", "only admins take backups")
	}
	if a.o.Backup == nil && a.o.BackupElsewhere != "" {
		return fail(http.StatusConflict, "backup_elsewhere", "", "%s", a.o.BackupElsewhere)
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

// maxJTI bounds a token ID to revoke; the IDs Mint makes are 32 hex digits.
const maxJTI = 128

func validJTI(jti string) bool {
	if jti == "" || len(jti) > maxJTI {
		return false
	}
	for _, r := range jti {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

package api

import (
	"context"
	"errors"
	"net/http"

	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/status"

	"github.com/labstack/echo/v4"
)

// Static-publication paths (docs/formats.md): the same paths a directory
// written by issuer/static holds, so that a counter syncs the same way
// from the issuer, a CDN or a file system.

// tile serves a C2SP tile of the ledger (SM3 hashes): GET
// /v1/ledger/tile/<L>/<N>[.p/<W>] or /v1/ledger/tile/entries/<N>[.p/<W>].
// A tile's bytes never change once it exists at its width.
func (a *API) tile(c echo.Context) error {
	if a.o.Tiles == nil {
		return fail(http.StatusNotFound, "not_found", "", "this server does not serve ledger tiles")
	}
	t, err := tlog.ParseTilePath("tile/" + c.Param("*"))
	if err != nil {
		return fail(http.StatusBadRequest, "bad_request", "path", "%v", err)
	}
	data, err := a.o.Tiles(c.Request().Context(), t)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return fail(http.StatusNotFound, "not_found", "path", "%v", err)
	case errors.Is(err, tlog.ErrInvalidEntry):
		return fail(http.StatusNotFound, "not_found", "path", "%v", err)
	case err != nil:
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, "application/octet-stream", data)
}

// statusDelta serves GET /v1/status-delta/<list>/<from>: the signed delta
// from version from to the current list; an empty body when from is the
// current version (the counter holds it); 404 when there is no delta from
// there (fetch the full list).
func (a *API) statusDelta(c echo.Context) error {
	if a.o.Publisher == nil {
		return fail(http.StatusServiceUnavailable, "unavailable", "", "status lists are not published")
	}
	from, err := uintParam(c, "from", c.Param("from"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	doc, err := a.o.Publisher.StatusDelta(c.Param("list"), from)
	switch {
	case errors.Is(err, status.ErrUnchanged):
		return c.Blob(http.StatusOK, "application/vnd.elicense.statuslist-delta", nil)
	case err != nil:
		return fail(http.StatusNotFound, "delta_unavailable", "from", "%v; fetch the full list", err)
	}
	return c.Blob(http.StatusOK, "application/vnd.elicense.statuslist-delta", doc)
}

// TileFunc reads a ledger tile for Options.Tiles: ledger.ReadTile over
// the log's store at its durable size. Errors wrapping ledger.ErrNotFound
// answer 404.
type TileFunc func(ctx context.Context, t tlog.Tile) ([]byte, error)

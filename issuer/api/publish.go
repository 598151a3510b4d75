package api

import (
	"errors"
	"net/http"

	"elicense/issuer/status"

	"github.com/labstack/echo/v4"
)

func (a *API) statusList(c echo.Context) error {
	if a.o.Publisher == nil {
		return fail(http.StatusServiceUnavailable, "unavailable", "", "status lists are not published")
	}
	if from := c.QueryParam("from"); from != "" {
		v, err := uintParam(c, "from", from)
		if err != nil {
			return err
		}
		doc, err := a.o.Publisher.StatusDelta(c.Param("list"), v)
		if errors.Is(err, status.ErrUnchanged) {
			c.Response().Header().Set("Cache-Control", "public, max-age=60")
			return c.NoContent(http.StatusNotModified)
		}
		if err != nil {
			return fail(http.StatusNotFound, "delta_unavailable", "from", "%v; fetch the full list", err)
		}
		c.Response().Header().Set("Cache-Control", "public, max-age=60")
		return c.Blob(http.StatusOK, "application/vnd.elicense.statuslist-delta", doc)
	}
	doc, etag, ok := a.o.Publisher.StatusList(c.Param("list"))
	if !ok {
		return fail(http.StatusNotFound, "not_found", "list", "no status list %q", c.Param("list"))
	}
	return a.document(c, "application/statuslist+jwt", doc, etag)
}

func (a *API) trust(c echo.Context) error {
	if a.o.Publisher == nil {
		return fail(http.StatusServiceUnavailable, "unavailable", "", "the trust bundle is not published")
	}
	doc, etag := a.o.Publisher.TrustBundle()
	return a.document(c, "application/jwt", doc, etag)
}

// genuineSet serves a compromised key's genuine set: immutable (the
// bundle names it by SM3), so it may be cached for good.
func (a *API) genuineSet(c echo.Context) error {
	if a.o.Publisher == nil {
		return fail(http.StatusServiceUnavailable, "unavailable", "", "the trust bundle is not published")
	}
	doc, etag, ok, err := a.o.Publisher.GenuineSet(c.Param("kid"))
	switch {
	case err != nil:
		return err // logged, and answered 500, by the error handler
	case !ok:
		return fail(http.StatusNotFound, "not_found", "kid", "no compromised key %q with a genuine set", c.Param("kid"))
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	c.Response().Header().Set("ETag", etag)
	if c.Request().Header.Get("If-None-Match") == etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "application/octet-stream", doc)
}

// document serves a signed document with its ETag; a matching
// If-None-Match gets 304, so a counter polling often fetches little.
func (a *API) document(c echo.Context, ctype string, doc []byte, etag string) error {
	h := c.Response().Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=60")
	if c.Request().Header.Get("If-None-Match") == etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, ctype, doc)
}

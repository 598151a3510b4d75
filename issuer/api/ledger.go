package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/service"
	"elicense/issuer/status"

	"github.com/labstack/echo/v4"
)

func (a *API) checkpoint(c echo.Context) error {
	cp := a.o.Ledger.Checkpoint()
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", cp.Note)
}

func uintParam(c echo.Context, name string, v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fail(http.StatusBadRequest, "bad_request", name, "%s must be a non-negative integer, got %q", name, v)
	}
	return n, nil
}

// entry serves one ledger entry, unauthenticated: its public view as the
// catalogue decodes it (kind, then the event's fields: identifiers,
// digests and times in the clear, personal data as hex commitments),
// the leaf hash and the raw bytes.
func (a *API) entry(c echo.Context) error {
	i, err := uintParam(c, "index", c.Param("index"))
	if err != nil {
		return err
	}
	if i >= a.o.Ledger.Size() {
		return fail(http.StatusNotFound, "not_found", "index", "ledger has %d entries", a.o.Ledger.Size())
	}
	raw, err := a.o.Ledger.Entry(i)
	if err != nil {
		return err
	}
	leaf := tlog.SM3.HashLeaf(raw)
	out := map[string]any{"index": i, "raw": base64.StdEncoding.EncodeToString(raw), "leaf_hash": base64.StdEncoding.EncodeToString(leaf[:])}
	ev, err := ledgerevent.Decode(raw)
	if err != nil {
		// Served anyway (the bytes are what the tree commits to), with
		// why the catalogue refuses them.
		out["error"] = err.Error()
		return c.JSON(http.StatusOK, out)
	}
	out["kind"], out["event"] = ev.Kind(), ev
	return c.JSON(http.StatusOK, out)
}

// openEntry opens one committed field of a ledger entry for an auditor
// (admin token): GET /v1/ledger/entries/{i}/open?field=operator[&value=…].
func (a *API) openEntry(c echo.Context) error {
	i, err := uintParam(c, "index", c.Param("index"))
	if err != nil {
		return err
	}
	o, err := a.o.Service.OpenLedgerField(operator(c), i, c.QueryParam("field"), c.QueryParam("value"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, o)
}

func hashes(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

func (a *API) inclusion(c echo.Context) error {
	i, err := uintParam(c, "index", c.QueryParam("index"))
	if err != nil {
		return err
	}
	size, err := uintParam(c, "tree_size", c.QueryParam("tree_size"))
	if err != nil {
		return err
	}
	if i >= size || size > a.o.Ledger.Size() {
		return fail(http.StatusBadRequest, "bad_request", "index", "need index < tree_size <= %d", a.o.Ledger.Size())
	}
	p, err := a.o.Ledger.InclusionProof(i, size)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"index": i, "tree_size": size, "proof": hashes(p)})
}

func (a *API) consistency(c echo.Context) error {
	oldSize, err := uintParam(c, "old", c.QueryParam("old"))
	if err != nil {
		return err
	}
	newSize, err := uintParam(c, "new", c.QueryParam("new"))
	if err != nil {
		return err
	}
	if oldSize > newSize || newSize > a.o.Ledger.Size() {
		return fail(http.StatusBadRequest, "bad_request", "old", "need old <= new <= %d", a.o.Ledger.Size())
	}
	p, err := a.o.Ledger.ConsistencyProof(oldSize, newSize)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"old": oldSize, "new": newSize, "proof": hashes(p)})
}

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

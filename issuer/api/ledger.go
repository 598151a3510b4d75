package api

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"elicense/certs/ledgerevent"
	"elicense/internal/ledger/tlog"

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
	if n := a.o.Ledger.SizeFor(i + 1); i >= n {
		return fail(http.StatusNotFound, "not_found", "index", "ledger has %d entries", n)
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
// (admin token): POST /v1/ledger/entries/{i}/open with {"field":
// "operator"[, "value": "…"]}. A POST, so that a value an auditor brings
// (a resident ID) never travels in a URL, which proxies and access logs
// keep.
func (a *API) openEntry(c echo.Context) error {
	i, err := uintParam(c, "index", c.Param("index"))
	if err != nil {
		return err
	}
	var body struct {
		Field string `json:"field"`
		Value string `json:"value,omitempty"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	o, err := a.o.Service.OpenLedgerField(operator(c), i, body.Field, body.Value)
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
	if n := a.o.Ledger.SizeFor(size); i >= size || size > n {
		return fail(http.StatusBadRequest, "bad_request", "index", "need index < tree_size <= %d", n)
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
	if n := a.o.Ledger.SizeFor(newSize); oldSize > newSize || newSize > n {
		return fail(http.StatusBadRequest, "bad_request", "old", "need old <= new <= %d", n)
	}
	p, err := a.o.Ledger.ConsistencyProof(oldSize, newSize)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"old": oldSize, "new": newSize, "proof": hashes(p)})
}

package api

import (
	"net/http"
	"net/url"
	"strconv"

	"elicense/issuer/service"
	"elicense/issuer/state"

	"github.com/labstack/echo/v4"
)

// issueBody is one licence, or a batch under "licences".
type issueBody struct {
	service.IssueRequest
	Licences []service.IssueRequest `json:"licences,omitempty"`
}

// batchResult is one entry of a batch response.
type batchResult struct {
	Index   int          `json:"index"`
	Licence *licenceView `json:"licence,omitempty"`
	Error   *errBody     `json:"error,omitempty"`
}

func (a *API) issue(c echo.Context) error {
	var body issueBody
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	op := operator(c)
	ctx := c.Request().Context()
	if body.Licences == nil {
		rec, err := a.o.Service.Issue(ctx, op, body.IssueRequest)
		if err != nil {
			return err
		}
		a.metrics.issued.Inc()
		return c.JSON(http.StatusCreated, issuedView(rec))
	}
	if body.Class != "" || body.Fields != nil {
		return fail(http.StatusBadRequest, "bad_request", "licences", "send one licence or a batch under \"licences\", not both")
	}
	if len(body.Licences) > 1000 {
		return fail(http.StatusRequestEntityTooLarge, "too_large", "licences", "at most 1000 licences per batch, got %d", len(body.Licences))
	}
	// Each licence is validated and acknowledged on its own: one bad row
	// does not sink the batch, and the results say which rows failed.
	out := make([]batchResult, len(body.Licences))
	type result struct {
		i   int
		rec *service.Issued
		err error
	}
	results := make(chan result, len(body.Licences))
	sem := make(chan struct{}, 32)
	for i, req := range body.Licences {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			rec, err := a.o.Service.Issue(ctx, op, req)
			results <- result{i, rec, err}
		}()
	}
	status := http.StatusCreated
	for range body.Licences {
		r := <-results
		out[r.i].Index = r.i
		if r.err != nil {
			ae := toAPIError(r.err)
			out[r.i].Error = &ae.body
			status = http.StatusMultiStatus
			continue
		}
		a.metrics.issued.Inc()
		v := issuedView(r.rec)
		out[r.i].Licence = &v
	}
	return c.JSON(status, map[string]any{"results": out})
}

func toAPIError(err error) *apiError {
	if se, ok := err.(*service.Error); ok {
		return serviceError(se)
	}
	return fail(http.StatusInternalServerError, "internal", "", "internal error")
}

func (a *API) get(c echo.Context) error {
	rec, err := a.o.Service.Get(operator(c), idParam(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view(rec))
}

func (a *API) search(c echo.Context) error {
	q := state.Query{
		HolderCode: c.QueryParam("holder"),
		Class:      c.QueryParam("class"),
		Status:     state.Status(c.QueryParam("status")),
		After:      c.QueryParam("after"),
	}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return fail(http.StatusBadRequest, "bad_request", "limit", "limit must be 1..1000, got %q", s)
		}
		q.Limit = n
	}
	recs, next, err := a.o.Service.Search(operator(c), q)
	if err != nil {
		return err
	}
	views := make([]licenceView, len(recs))
	for i, r := range recs {
		views[i] = view(r)
		views[i].Credential = "" // fetch one licence for its credential
	}
	return c.JSON(http.StatusOK, map[string]any{"licences": views, "next": next})
}

func (a *API) reissue(c echo.Context) error {
	var req service.ReissueRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	rec, err := a.o.Service.Reissue(c.Request().Context(), operator(c), idParam(c), req)
	if err != nil {
		return err
	}
	a.metrics.issued.Inc()
	return c.JSON(http.StatusCreated, view(rec))
}

type statusBody struct {
	Reason string `json:"reason"`
}

func (a *API) changeStatus(action service.Action) echo.HandlerFunc {
	return func(c echo.Context) error {
		var body statusBody
		if err := bindJSON(c, &body); err != nil {
			return err
		}
		rec, err := a.o.Service.ChangeStatus(c.Request().Context(), operator(c), idParam(c), action, body.Reason)
		if err != nil {
			return err
		}
		a.metrics.statusChanges.WithLabelValues(string(action)).Inc()
		return c.JSON(http.StatusOK, view(rec))
	}
}

// idParam is the licence identifier in the path; a device copy's
// identifier carries '#', sent as %23.
func idParam(c echo.Context) string {
	id, err := url.PathUnescape(c.Param("id"))
	if err != nil {
		return c.Param("id")
	}
	return id
}

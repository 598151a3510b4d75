package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"elicense/certs/catalog"
	"elicense/issuer/service"
	"elicense/issuer/state"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"
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

// qr renders a licence's static QR as PNG (default) or SVG, at a whole
// number of pixels per module so large codes stay scannable.
func (a *API) qr(c echo.Context) error {
	rec, err := a.o.Service.Get(operator(c), idParam(c))
	if err != nil {
		return err
	}
	text, err := staticQR(rec)
	if err != nil {
		return fail(http.StatusConflict, "conflict", "", "licence has no QR core: %v", err)
	}
	code, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return err
	}
	switch c.QueryParam("format") {
	case "", "png":
		scale := 4
		if s := c.QueryParam("scale"); s != "" {
			if scale, err = strconv.Atoi(s); err != nil || scale < 1 || scale > 20 {
				return fail(http.StatusBadRequest, "bad_request", "scale", "scale must be 1..20 pixels per module")
			}
		}
		png, err := code.PNG(-scale) // negative: pixels per module
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "image/png", png)
	case "svg":
		return c.Blob(http.StatusOK, "image/svg+xml", svg(code.Bitmap()))
	default:
		return fail(http.StatusBadRequest, "bad_request", "format", "format must be png or svg")
	}
}

// svg draws a QR bitmap as one path of unit squares.
func svg(bits [][]bool) []byte {
	var b bytes.Buffer
	n := len(bits)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + strconv.Itoa(n) + " " + strconv.Itoa(n) + `" shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="`)
	for y, row := range bits {
		for x, on := range row {
			if on {
				b.WriteString("M" + strconv.Itoa(x) + " " + strconv.Itoa(y) + "h1v1h-1z")
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes()
}

// classView is one catalogue class as forms need it.
type classView struct {
	Key        string      `json:"key"`
	TypeCode   string      `json:"type_code"`
	NameZH     string      `json:"name_zh"`
	NameEN     string      `json:"name_en"`
	HolderKind string      `json:"holder_kind"`
	Pilot      bool        `json:"pilot"`
	Fields     []fieldView `json:"fields"`
}

type fieldView struct {
	Key      string   `json:"key"`
	Label    string   `json:"label"`
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	MaxLen   int      `json:"max_len,omitempty"`
	Values   []string `json:"values,omitempty"`
	QR       string   `json:"qr"`
}

// classes lists the licence catalogue (public: it is what a licence is).
func (a *API) classes(c echo.Context) error {
	var out []classView
	for _, cl := range catalog.Default().Classes() {
		v := classView{Key: cl.Key, TypeCode: cl.TypeCode, NameZH: cl.NameZH, NameEN: cl.NameEN, HolderKind: string(cl.HolderKind), Pilot: cl.Pilot}
		for _, f := range cl.Fields {
			v.Fields = append(v.Fields, fieldView{Key: f.Key, Label: f.Label, Type: string(f.Type), Required: f.Required, MaxLen: f.MaxLen, Values: f.Values, QR: string(f.QR)})
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"classes": out})
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

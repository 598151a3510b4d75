package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/service"
	"elicense/issuer/state"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Ledger is what the API reads from the ledger.
type Ledger interface {
	Size() uint64
	// SizeFor is Size, or more when entries up to want were appended
	// (by another replica) since Size was last brought up to date.
	SizeFor(want uint64) uint64
	Checkpoint() ledger.SignedCheckpoint
	Entry(index uint64) ([]byte, error) // a certs/ledgerevent encoding
	InclusionProof(index, treeSize uint64) ([]tlog.Hash, error)
	ConsistencyProof(oldSize, newSize uint64) ([]tlog.Hash, error)
}

// Publisher serves the documents counters fetch: status lists and the
// trust bundle. Each returns the signed document and a strong ETag.
type Publisher interface {
	StatusList(id string) (doc []byte, etag string, ok bool)
	// StatusDelta is the signed delta from version from to the current
	// list, or an error when none can be made (the counter then fetches
	// the full list).
	StatusDelta(id string, from uint64) ([]byte, error)
	TrustBundle() (doc []byte, etag string)
	// GenuineSet is the genuine set of compromised key kid that the
	// bundle names; ok is false when there is none.
	GenuineSet(kid string) (doc []byte, etag string, ok bool, err error)
}

// Options wire the API.
type Options struct {
	Service   *service.Service
	Store     state.Tokens // revoked operator tokens
	Ledger    Ledger
	Tokens    *Tokens
	Publisher Publisher // nil: status and trust endpoints answer 503
	Logger    *slog.Logger
	Registry  *prometheus.Registry // nil: a new one
	Ready     func() error         // nil: always ready
	BodyLimit string               // e.g. "4M"; empty means 4M
	Console   http.Handler         // the agency console's assets, served under /console/ (nil: none)
	Wallet    http.Handler         // the holder web wallet, served under /wallet/ (nil: none)
	// Tiles reads the ledger's C2SP tiles for /v1/ledger/tile/ (nil:
	// those paths answer 404).
	Tiles TileFunc
	// Backup writes a consistent copy of the data file (the ledger with
	// the state kept in it); nil turns the backup endpoint off.
	Backup func(w io.Writer) (int64, error)
	// BackupElsewhere, when Backup is nil, is how this deployment is
	// backed up instead (its database's tools); GET /v1/backup answers
	// it, 409, to an admin.
	BackupElsewhere string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Real-IP name the client; from any other peer those headers are
	// ignored and the client is the TCP peer. Empty: trust none.
	TrustedProxies []netip.Prefix
	// ClaimRate and ClaimBurst limit the claim endpoints per client
	// address (an IPv6 client's /64); zero means 2 a second, bursts of 10.
	ClaimRate  float64
	ClaimBurst int
	// RPRate limits each relying party's credential fetches, per
	// replica, a second (bursts of twice that); zero means DefaultRPRate.
	RPRate float64
}

// maxLimitedClients bounds the claim rate limiter's table: past it, the
// least recently seen address is forgotten (its bucket starts again full).
const maxLimitedClients = 65536

// API is the HTTP handler.
type API struct {
	o       Options
	e       *echo.Echo
	metrics *metrics
	// holderProof checks a holder's ELProof (consentRoutes).
	holderProof echo.MiddlewareFunc
}

// New builds the API.
func New(o Options) *API {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.BodyLimit == "" {
		o.BodyLimit = "4M"
	}
	if o.ClaimRate <= 0 || o.ClaimBurst <= 0 {
		o.ClaimRate, o.ClaimBurst = 2, 10
	}
	a := &API{o: o, e: echo.New(), metrics: newMetrics(o.Registry, o.Ledger)}
	e := a.e
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientIPs{trusted: o.TrustedProxies}.extract
	e.HTTPErrorHandler = a.errorHandler
	e.Use(a.observe)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		o.Logger.Error("panic in handler", "path", c.Path(), "err", err, "stack", string(stack))
		return err
	}}))
	e.Use(middleware.BodyLimit(o.BodyLimit))
	e.Use(checkParamText)
	a.routes()
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.e.ServeHTTP(w, r) }

// Echo exposes the router (for tests that list routes).
func (a *API) Echo() *echo.Echo { return a.e }

func (a *API) routes() {
	e := a.e
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", a.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(a.o.Registry, promhttp.HandlerOpts{})))
	e.GET("/v1/openapi.json", a.openapi)

	if a.o.Console != nil {
		e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/console/") })
		e.GET("/console/*", echo.WrapHandler(http.StripPrefix("/console", a.o.Console)))
	}
	if a.o.Wallet != nil {
		e.GET("/wallet/*", echo.WrapHandler(http.StripPrefix("/wallet", a.o.Wallet)))
	}

	v1 := e.Group("/v1")
	v1.GET("/classes", a.classes)
	v1.POST("/licences", a.issue, a.auth)
	v1.GET("/licences", a.search, a.auth)
	v1.GET("/licences/:id", a.get, a.auth)
	v1.POST("/licences/:id/reissue", a.reissue, a.auth)
	v1.POST("/licences/:id/suspend", a.changeStatus(service.ActionSuspend), a.auth)
	v1.POST("/licences/:id/reinstate", a.changeStatus(service.ActionReinstate), a.auth)
	v1.POST("/licences/:id/revoke", a.changeStatus(service.ActionRevoke), a.auth)
	v1.GET("/licences/:id/qr", a.qr, a.auth)
	v1.GET("/licences/:id/face", a.face, a.auth)
	v1.GET("/licences/:id/ofd", a.ofdFile) // a bearer token or a holder's ELProof
	v1.POST("/licences/:id/claim-codes", a.newClaimCode, a.auth)
	v1.POST("/licences/:id/unbind", a.unbind, a.auth)
	v1.GET("/licences/:id/history", a.history, a.auth) // history.go
	v1.GET("/agencies", a.agencies, a.auth)

	// Holders claim device-bound copies without an operator token; the
	// rate limit (per client address) backs the secret half of the
	// codes. Both endpoints draw on one bucket per address.
	limit := newLimiter(a.o.ClaimRate, a.o.ClaimBurst, maxLimitedClients, nil).rateLimit
	v1.POST("/claims/challenge", a.challenge, limit)
	v1.POST("/claims", a.claim, limit)

	v1.GET("/status/:list", a.statusList)
	v1.GET("/status-delta/:list/:from", a.statusDelta)
	v1.GET("/trust", a.trust)
	v1.GET("/trust/genuine/:kid", a.genuineSet)

	v1.GET("/ledger/checkpoint", a.checkpoint)
	v1.GET("/ledger/entries/:index", a.entry)
	v1.POST("/ledger/entries/:index/open", a.openEntry, a.auth)
	v1.GET("/ledger/proof/inclusion", a.inclusion)
	v1.GET("/ledger/proof/consistency", a.consistency)
	v1.GET("/ledger/tile/*", a.tile)

	v1.POST("/receipts", a.uploadReceipts, a.auth)
	v1.POST("/seals", a.makeSeal, a.auth)
	v1.GET("/seals", a.listSeals, a.auth) // seal_list.go
	v1.POST("/seals/:esid/revoke", a.revokeSeal, a.auth)

	v1.POST("/agencies/:code/keys/rotate", a.rotateKey, a.auth)
	v1.POST("/agencies/:code/keys/:kid/compromise", a.compromiseKey, a.auth)

	v1.POST("/tokens", a.mintToken, a.auth)
	v1.DELETE("/tokens/:jti", a.revokeToken, a.auth)
	v1.GET("/backup", a.backup, a.auth)
	v1.POST("/archives", a.exportArchive, a.auth)

	a.consentRoutes(v1) // 授权用证 (consent.go)
}

// maxErrorMessage bounds an error response's message, in bytes.
const maxErrorMessage = 1024

// errBody is every error response.
type errBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// apiError is an error with its HTTP status.
type apiError struct {
	status int
	body   errBody
}

func (e *apiError) Error() string { return e.body.Message }

func fail(status int, code, field, format string, args ...any) *apiError {
	return &apiError{status: status, body: errBody{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}}
}

// errorHandler turns any error into {code, message, field}. Service
// errors map by kind; echo's own (404 route, 405, 413) keep their status.
func (a *API) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *apiError
	var se *service.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &se):
		ae = serviceError(se)
		if errors.Is(se, service.ErrUnavailable) && se.Err != nil {
			// The cause names the database's host, port and user: it
			// goes to the log, the client gets the reason without it.
			a.o.Logger.Warn("unavailable", "method", c.Request().Method, "path", c.Path(), "err", se.Err)
			ae.body.Message = service.ErrUnavailable.Error() + ": " + se.Msg
		}
	case errors.As(err, &he):
		ae = fail(he.Code, strings.ReplaceAll(strings.ToLower(http.StatusText(he.Code)), " ", "_"), "", "%v", he.Message)
	case errors.Is(err, state.ErrUnavailable):
		a.o.Logger.Warn("unavailable", "method", c.Request().Method, "path", c.Path(), "err", err)
		ae = fail(http.StatusServiceUnavailable, "unavailable", "", "%v", state.ErrUnavailable)
	default:
		a.o.Logger.Error("internal error", "method", c.Request().Method, "path", c.Path(), "err", err)
		ae = fail(http.StatusInternalServerError, "internal", "", "internal error")
	}
	if len(ae.body.Message) > maxErrorMessage {
		// A message quotes what the client sent; a megabyte of it is not
		// worth sending back.
		ae.body.Message = strings.ToValidUTF8(ae.body.Message[:maxErrorMessage], "") + "…"
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(ae.status)
		return
	}
	c.JSON(ae.status, ae.body)
}

func serviceError(se *service.Error) *apiError {
	status, code := http.StatusInternalServerError, "internal"
	switch {
	case errors.Is(se, service.ErrInvalid):
		status, code = http.StatusUnprocessableEntity, "invalid"
	case errors.Is(se, service.ErrForbidden):
		status, code = http.StatusForbidden, "forbidden"
	case errors.Is(se, service.ErrNotFound):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(se, service.ErrConflict):
		status, code = http.StatusConflict, "conflict"
	case errors.Is(se, service.ErrUnavailable):
		status, code = http.StatusServiceUnavailable, "unavailable"
	}
	return &apiError{status: status, body: errBody{Code: code, Field: se.Field, Message: se.Error()}}
}

// bindJSON decodes a JSON body strictly: content type, unknown fields,
// trailing data, syntax errors, invalid UTF-8 and duplicate members
// (checkJSONText) are all 4xx with the reason.
func bindJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return fail(http.StatusUnsupportedMediaType, "unsupported_media_type", "", "Content-Type must be application/json, not %q", ct)
	}
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var mbe *http.MaxBytesError
		var he *echo.HTTPError
		switch {
		case errors.As(err, &mbe):
			return fail(http.StatusRequestEntityTooLarge, "too_large", "", "request body over %d bytes", mbe.Limit)
		case errors.As(err, &he):
			return he
		default:
			return fail(http.StatusBadRequest, "bad_request", "", "reading the body: %v", err)
		}
	}
	if err := checkJSONText(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fail(http.StatusBadRequest, "bad_json", "", "malformed JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			field := te.Field[strings.LastIndexByte(te.Field, '.')+1:]
			return fail(http.StatusBadRequest, "bad_json", field, "field %q: want a JSON %s", field, te.Type)
		default:
			return fail(http.StatusBadRequest, "bad_json", "", "%v", err)
		}
	}
	if dec.More() {
		return fail(http.StatusBadRequest, "bad_json", "", "trailing data after the JSON body")
	}
	return nil
}

// operatorKey is where auth leaves the caller.
const operatorKey = "operator"

// auth requires a valid bearer token.
func (a *API) auth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="elicense"`)
			return fail(http.StatusUnauthorized, "unauthorized", "", "a bearer token is required")
		}
		op, _, err := a.o.Tokens.Verify(tok)
		if err == nil {
			err = a.checkScope(op)
		}
		if err == nil {
			if ferr := counterOnly(c, op); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, state.ErrUnavailable) {
			// Whether the token was revoked cannot be told: not the
			// caller's fault (not 401), and the database's address is
			// not the caller's business either.
			a.o.Logger.Warn("auth: cannot check the token's revocation", "err", err)
			return fail(http.StatusServiceUnavailable, "unavailable", "", "the database is unavailable; try again later")
		}
		if err != nil {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="elicense", error="invalid_token"`)
			return fail(http.StatusUnauthorized, "unauthorized", "", "%v", err)
		}
		c.Set(operatorKey, op)
		return next(c)
	}
}

func operator(c echo.Context) service.Operator { return c.Get(operatorKey).(service.Operator) }

func (a *API) ready(c echo.Context) error {
	if a.o.Ready != nil {
		if err := a.o.Ready(); err != nil {
			if errors.Is(err, state.ErrUnavailable) {
				// Unauthenticated: the database's address stays in the log.
				a.o.Logger.Warn("not ready", "err", err)
				return fail(http.StatusServiceUnavailable, "not_ready", "", "%v", state.ErrUnavailable)
			}
			return fail(http.StatusServiceUnavailable, "not_ready", "", "%v", err)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "ledger_size": a.o.Ledger.Size()})
}

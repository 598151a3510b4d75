package api

import (
	"errors"
	"net/http"
	"strconv"

	"elicense/certs/consent"
	"elicense/issuer/service"

	"github.com/labstack/echo/v4"
)

// consentAPI serves 授权用证 (docs/consent.md): relying parties (admin
// tokens), requests, grants and credentials (proofs), and the holder's
// lists (proofs by the copy's device key).
type consentAPI struct {
	a     *API
	jtis  *jtiMemory
	limit *partyLimiter
}

func (a *API) consentRoutes(v1 *echo.Group) {
	rate := a.o.RPRate
	if rate <= 0 {
		rate = DefaultRPRate
	}
	h := &consentAPI{a: a, jtis: newJTIMemory(consent.ProofReplayWindow, maxJTIs), limit: newPartyLimiter(rate, nil)}
	rp, holder, either := h.proofAuth(subjectRP), h.proofAuth(subjectHolder), h.proofAuth(subjectEither)
	a.holderProof = holder // also for a holder's licence file (ofd.go)

	v1.GET("/relying-parties", h.listParties, a.auth)
	v1.POST("/relying-parties", h.registerParty(true), a.auth)
	v1.GET("/relying-parties/:id", h.getParty, a.auth)
	v1.PUT("/relying-parties/:id", h.registerParty(false), a.auth)
	v1.DELETE("/relying-parties/:id", h.changeParty(service.PartyRemove), a.auth)
	v1.POST("/relying-parties/:id/suspend", h.changeParty(service.PartySuspend), a.auth)
	v1.POST("/relying-parties/:id/resume", h.changeParty(service.PartyResume), a.auth)

	v1.POST("/requests", h.createRequest, rp)
	v1.GET("/requests/:id", h.getRequest)
	v1.POST("/grants", h.answer)
	v1.GET("/grants", h.partyGrants, rp)
	v1.DELETE("/grants/:id", h.revokeGrant, either)
	v1.GET("/grants/:id/credential", h.fetch, rp, h.rpLimit)

	v1.GET("/holder/grants", h.holderGrants, holder)
	v1.GET("/holder/uses", h.holderUses, holder)
}

// consentError answers a service error with the contract's reason code
// (docs/consent.md) where it names one; others as every route does.
func consentError(err error) error {
	var se *service.Error
	if !errors.As(err, &se) {
		return err
	}
	if errors.Is(se, service.ErrGone) {
		code := se.Code
		if code == "" {
			code = "gone"
		}
		return &apiError{status: http.StatusGone, body: errBody{Code: code, Field: se.Field, Message: se.Error()}}
	}
	if se.Code == "" || errors.Is(se, service.ErrUnavailable) {
		return err
	}
	ae := serviceError(se)
	ae.body.Code = se.Code
	return ae
}

func (h *consentAPI) listParties(c echo.Context) error {
	v, err := h.a.o.Service.Parties(operator(c))
	if err != nil {
		return consentError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"relying_parties": v})
}

func (h *consentAPI) getParty(c echo.Context) error {
	v, err := h.a.o.Service.Party(operator(c), c.Param("id"))
	if err != nil {
		return consentError(err)
	}
	return c.JSON(http.StatusOK, v)
}

func (h *consentAPI) registerParty(create bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var reg service.RPRegistration
		if err := bindJSON(c, &reg); err != nil {
			return err
		}
		status := http.StatusCreated
		if !create {
			status = http.StatusOK
			if id := c.Param("id"); reg.ID != id {
				return fail(http.StatusUnprocessableEntity, "invalid", "id", "the body's id %q is not the path's %q", reg.ID, id)
			}
		}
		v, err := h.a.o.Service.RegisterParty(c.Request().Context(), operator(c), reg, create)
		if err != nil {
			return consentError(err)
		}
		return c.JSON(status, v)
	}
}

func (h *consentAPI) changeParty(action service.PartyAction) echo.HandlerFunc {
	return func(c echo.Context) error {
		var body struct {
			Reason string `json:"reason"`
		}
		if c.Request().ContentLength != 0 {
			if err := bindJSON(c, &body); err != nil {
				return err
			}
		}
		v, err := h.a.o.Service.ChangeParty(c.Request().Context(), operator(c), c.Param("id"), action, body.Reason)
		if err != nil {
			return consentError(err)
		}
		return c.JSON(http.StatusOK, v)
	}
}

func (h *consentAPI) createRequest(c echo.Context) error {
	var in service.RequestInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	v, err := h.a.o.Service.CreateRequest(c.Request().Context(), caller(c), in)
	if err != nil {
		return consentError(err)
	}
	return c.JSON(http.StatusCreated, v)
}

func (h *consentAPI) getRequest(c echo.Context) error {
	v, err := h.a.o.Service.Request(c.Param("id"))
	if err != nil {
		return consentError(err)
	}
	return c.JSON(http.StatusOK, v)
}

func (h *consentAPI) answer(c echo.Context) error {
	var body struct {
		Consent string `json:"consent"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	v, err := h.a.o.Service.Answer(c.Request().Context(), body.Consent)
	if err != nil {
		return consentError(err)
	}
	if v.Grant == nil {
		return c.JSON(http.StatusOK, v) // a refusal
	}
	return c.JSON(http.StatusCreated, v)
}

func (h *consentAPI) partyGrants(c echo.Context) error {
	all := false
	switch c.QueryParam("state") {
	case "", "active":
	case "all":
		all = true
	default:
		return fail(http.StatusUnprocessableEntity, "invalid", "state", "state is active or all")
	}
	var after uint64
	if s := c.QueryParam("after"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fail(http.StatusUnprocessableEntity, "invalid", "after", "after is the next value of the previous page")
		}
		after = v
	}
	gs, next, err := h.a.o.Service.PartyGrants(caller(c), all, after)
	if err != nil {
		return consentError(err)
	}
	out := map[string]any{"grants": gs}
	if next != 0 {
		out["next"] = strconv.FormatUint(next, 10)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *consentAPI) revokeGrant(c echo.Context) error {
	v, err := h.a.o.Service.RevokeGrant(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return consentError(err)
	}
	return c.JSON(http.StatusOK, v)
}

func (h *consentAPI) fetch(c echo.Context) error {
	v, err := h.a.o.Service.Fetch(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return consentError(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, v)
}

func (h *consentAPI) holderGrants(c echo.Context) error {
	v, err := h.a.o.Service.HolderGrants(caller(c), c.QueryParam("licence"))
	if err != nil {
		return consentError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"grants": v})
}

func (h *consentAPI) holderUses(c echo.Context) error {
	v, err := h.a.o.Service.HolderUses(caller(c), c.QueryParam("licence"))
	if err != nil {
		return consentError(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"uses": v})
}

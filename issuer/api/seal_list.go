package api

import (
	"net/http"
	"slices"

	"elicense/certs/ledgerevent"
	"elicense/issuer/service"
	"elicense/issuer/state"

	"github.com/labstack/echo/v4"
)

// maxSealScan bounds the ledger entries GET /v1/seals reads: the most
// recent ones. Seals are listed from the ledger (seal-made and
// seal-revoked events), which the state does not index by agency.
const maxSealScan = maxHistoryScan

// sealRecords is the state's seal reader, when the API's store has one
// (the holder's code is kept there, not in the public ledger).
type sealRecords interface {
	Seal(esid string) (*state.SealRecord, error)
}

// sealList answers GET /v1/seals.
type sealList struct {
	Seals []sealView `json:"seals"`
	// From is the first ledger entry read; Truncated says the ledger's
	// earlier entries were not (seals made before From are not listed).
	From      uint64 `json:"from"`
	Truncated bool   `json:"truncated,omitempty"`
}

// listSeals serves GET /v1/seals[?agency=CODE]: the seals an agency made,
// newest first, each with its ledger index and, once revoked, when and
// why. An admin lists every agency's (or the one named); an operator or
// auditor its own agency's, and naming another is 403.
func (a *API) listSeals(c echo.Context) error {
	op := operator(c)
	agency := c.QueryParam("agency")
	switch {
	case op.Role != service.RoleAdmin && agency != "" && agency != op.Agency:
		return fail(http.StatusForbidden, "forbidden", "agency", "%s may not list the seals of agency %s", op.Subject, agency)
	case op.Role != service.RoleAdmin:
		agency = op.Agency
	case agency != "":
		if _, ok := a.o.Service.PKI().Agency(agency); !ok {
			return fail(http.StatusNotFound, "not_found", "agency", "no agency %s", agency)
		}
	}
	size := a.o.Ledger.Size()
	out := sealList{Seals: []sealView{}}
	if size > maxSealScan {
		out.From, out.Truncated = size-maxSealScan, true
	}
	byESID := map[string]int{}
	err := a.entries(c.Request().Context(), out.From, size, func(i uint64, raw []byte) error {
		if len(raw) < 2 || (ledgerevent.Kind(raw[1]) != ledgerevent.KindSealMade && ledgerevent.Kind(raw[1]) != ledgerevent.KindSealRevoked) {
			return nil
		}
		ev, err := ledgerevent.Decode(raw)
		if err != nil || agency != "" && ev.Head().Agency != agency {
			return nil
		}
		switch e := ev.(type) {
		case *ledgerevent.SealMade:
			byESID[e.ESID] = len(out.Seals)
			out.Seals = append(out.Seals, sealView{ESID: e.ESID, Agency: e.Agency, MadeAt: e.Time.UTC(), LedgerIndex: i})
		case *ledgerevent.SealRevoked:
			if j, ok := byESID[e.ESID]; ok {
				out.Seals[j].RevokedAt, out.Seals[j].Reason = e.Time.UTC(), e.Reason
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if sr, ok := a.o.Store.(sealRecords); ok {
		for i, s := range out.Seals {
			if r, err := sr.Seal(s.ESID); err == nil {
				out.Seals[i].HolderCode = r.HolderCode
			}
		}
	}
	slices.Reverse(out.Seals)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"

	"elicense/certs/ledgerevent"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/state"

	"github.com/labstack/echo/v4"
)

// maxHistoryScan bounds the ledger entries one history request reads:
// a licence's events lie between its issuance and its last change, and
// nothing indexes the ones in between (docs/events.md).
const maxHistoryScan = 1 << 20

// historyEvent is one ledger event about a licence, with its inclusion
// proof against the checkpoint the answer carries.
type historyEvent struct {
	Index    uint64            `json:"index"`
	Kind     string            `json:"kind"`
	Time     string            `json:"time"`
	Subject  string            `json:"subject"`
	Event    ledgerevent.Event `json:"event"`
	Raw      string            `json:"raw"`       // the entry, base64
	LeafHash string            `json:"leaf_hash"` // SM3 leaf hash, base64
	// Proof is the inclusion proof against the checkpoint, base64 hashes;
	// absent (and Pending set) for an event the checkpoint does not yet
	// cover.
	Proof    []string `json:"proof"`
	Verified bool     `json:"verified"` // the server checked Proof against the checkpoint's root
	Pending  bool     `json:"pending,omitempty"`
}

// historyView answers GET /v1/licences/{id}/history.
type historyView struct {
	ID         string         `json:"id"`
	Checkpoint checkpointView `json:"checkpoint"`
	Events     []historyEvent `json:"events"`
	// From and To are the ledger range read, [from, to); Truncated says
	// it was cut at maxHistoryScan entries (the later events are missing).
	From      uint64 `json:"from"`
	To        uint64 `json:"to"`
	Truncated bool   `json:"truncated,omitempty"`
}

type checkpointView struct {
	Origin string `json:"origin"`
	Size   uint64 `json:"size"`
	Root   string `json:"root"` // base64
	Note   string `json:"note"` // the signed note, as GET /v1/ledger/checkpoint serves it
}

// history serves GET /v1/licences/{id}/history: the ledger events about a
// licence (its issuance or re-issue, status changes, the re-issue that
// superseded it, its device copies' claims and unbinding), each with its
// inclusion proof against the current signed checkpoint, checked here.
// Scoped as GET /v1/licences/{id}: a licence the caller may not read is
// a 404. The events are the public ledger's (personal data only as
// commitments).
func (a *API) history(c echo.Context) error {
	op := operator(c)
	rec, err := a.o.Service.Get(op, idParam(c))
	if err != nil {
		return err
	}
	from, to := rec.LedgerIndex, rec.LastEvent
	for _, cp := range rec.Copies {
		if r, err := a.o.Service.Get(op, cp); err == nil {
			from, to = min(from, r.LedgerIndex), max(to, r.LastEvent)
		}
	}
	to = min(to, a.o.Ledger.SizeFor(to))
	out := historyView{ID: rec.ID, From: from, To: to, Events: []historyEvent{}}
	if to-from > maxHistoryScan {
		out.To, out.Truncated = from+maxHistoryScan, true
	}
	cp := a.o.Ledger.Checkpoint()
	out.Checkpoint = checkpointView{Origin: cp.Origin, Size: cp.Size, Root: base64.StdEncoding.EncodeToString(cp.Root[:]), Note: string(cp.Note)}
	match := historyMatcher(rec.ID)
	err = a.entries(c.Request().Context(), out.From, out.To, func(i uint64, raw []byte) error {
		ev, ok := match(raw)
		if !ok {
			return nil
		}
		he, err := a.historyEntry(i, raw, ev, cp)
		if err == nil {
			out.Events = append(out.Events, he)
		}
		return err
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// historyMatcher returns the test of whether a ledger entry is about the
// licence id: its subject is id or one of id's device copies, or it is
// the re-issue that superseded id.
func historyMatcher(id string) func(raw []byte) (ledgerevent.Event, bool) {
	needle := []byte(id)
	return func(raw []byte) (ledgerevent.Event, bool) {
		if len(raw) < 2 || ledgerevent.Kind(raw[1]) > ledgerevent.KindClaim || !bytes.Contains(raw, needle) {
			return nil, false // not a licence event, or not this one's: skipped undecoded
		}
		ev, err := ledgerevent.Decode(raw)
		if err != nil {
			return nil, false
		}
		sub := ev.Head().Subject
		if sub == id || strings.HasPrefix(sub, id+"#") {
			return ev, true
		}
		if re, ok := ev.(*ledgerevent.Reissue); ok && re.Supersedes == id {
			return ev, true
		}
		return nil, false
	}
}

// historyEntry is entry i with its proof against cp, verified.
func (a *API) historyEntry(i uint64, raw []byte, ev ledgerevent.Event, cp ledger.SignedCheckpoint) (historyEvent, error) {
	leaf := tlog.SM3.HashLeaf(raw)
	h := historyEvent{Index: i, Kind: ev.Kind().String(), Time: ev.Head().Time.UTC().Format("2006-01-02T15:04:05Z"),
		Subject: ev.Head().Subject, Event: ev, Raw: base64.StdEncoding.EncodeToString(raw),
		LeafHash: base64.StdEncoding.EncodeToString(leaf[:]), Proof: []string{}}
	if i >= cp.Size {
		h.Pending = true
		return h, nil
	}
	p, err := a.o.Ledger.InclusionProof(i, cp.Size)
	if err != nil {
		return h, err
	}
	h.Proof = hashes(p)
	h.Verified = tlog.VerifyInclusion(leaf, i, cp.Size, p, cp.Root) == nil
	return h, nil
}

// rangeReader is a ledger that reads a range of entries in one pass (a
// *ledger.Log, through its store); others are read one entry at a time.
type rangeReader interface {
	Store() ledger.Store[state.Tx]
}

// entries calls fn for each ledger entry in [from, to).
func (a *API) entries(ctx context.Context, from, to uint64, fn func(i uint64, raw []byte) error) error {
	if from >= to {
		return nil
	}
	if rr, ok := a.o.Ledger.(rangeReader); ok {
		return rr.Store().Entries(ctx, from, to, fn)
	}
	for i := from; i < to; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, err := a.o.Ledger.Entry(i)
		if err != nil {
			return err
		}
		if err := fn(i, raw); err != nil {
			return err
		}
	}
	return nil
}

// agencyView is one agency as GET /v1/agencies lists it.
type agencyView struct {
	Code    string   `json:"code"`
	Name    string   `json:"name"`
	Classes []string `json:"classes"` // class keys it may issue
}

// agencies serves GET /v1/agencies: the agencies the caller acts for,
// with their names (an admin: every agency; an operator or auditor: its
// own), so that pages show a name where a code is stored.
func (a *API) agencies(c echo.Context) error {
	op := operator(c)
	out := []agencyView{}
	for _, ag := range a.o.Service.PKI().Agencies {
		if op.Agency != "" && ag.Code != op.Agency {
			continue
		}
		classes := ag.Classes
		if classes == nil {
			classes = []string{}
		}
		out = append(out, agencyView{Code: ag.Code, Name: ag.Name, Classes: classes})
	}
	return c.JSON(http.StatusOK, map[string]any{"agencies": out})
}

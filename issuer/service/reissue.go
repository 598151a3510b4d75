package service

import (
	"context"
	"fmt"
	"maps"

	"elicense/certs/ledgerevent"
	"elicense/issuer/state"
)

// ReissueRequest changes a licence's fields by issuing its next version.
type ReissueRequest struct {
	Fields map[string]string `json:"fields"` // fields to change; others are kept
	Number string            `json:"number,omitempty"`
}

// Reissue issues the next version of a licence's identifier with changed
// fields and marks the old version superseded (reason 变更), in one
// ledger event.
func (s *Service) Reissue(ctx context.Context, op Operator, id string, req ReissueRequest) (*state.Record, error) {
	old, done, err := s.forChange(op, id)
	if err != nil {
		return nil, err
	}
	defer done()
	if old.CopyOf != "" {
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: "re-issue the licence, not a device copy of it"}
	}
	if old.Status != state.StatusValid && old.Status != state.StatusSuspended {
		return nil, &Error{Kind: ErrConflict, Field: "status", Msg: fmt.Sprintf("cannot re-issue a licence that is %s", old.Status)}
	}
	cl, _ := s.cat.Lookup(old.Class)
	ag, ok := s.pki().Agency(old.Agency)
	if !ok {
		return nil, &Error{Kind: ErrConflict, Msg: "the issuing agency is no longer configured"}
	}
	oldID, err := parseID(old.ID)
	if err != nil {
		return nil, err
	}
	next, err := oldID.NextVersion()
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "no further version", Err: err}
	}
	fields := maps.Clone(old.Fields)
	maps.Copy(fields, req.Fields)
	for k, v := range req.Fields {
		if v == "" {
			delete(fields, k)
		}
	}
	number, err := licenceNumber(cl, req.Number, fields)
	if err != nil {
		return nil, err
	}
	list, idx, err := s.status.Allocate(ag.Code)
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "no free status-list position", Err: err}
	}
	rec, err := s.build(cl, ag, fields, s.now(), number, list, idx, next.Version, next.Serial, nil)
	if err != nil {
		s.status.Release(list, idx)
		return nil, err
	}
	rec.Supersedes = old.ID
	put, err := s.store.Prepare(rec, nil)
	if err != nil {
		s.status.Release(list, idx)
		return nil, &Error{Kind: ErrConflict, Msg: "could not record the licence", Err: err}
	}
	now := s.now()
	ev := s.audit.Reissue(ledgerevent.Reissue{Time: now, Agency: ag.Code, ID: rec.ID, Supersedes: old.ID,
		Credential: mustHash(rec.CredentialHash), Superseded: mustHash(old.CredentialHash), From: ledgerStatus[old.Status], Reason: "变更"}, op.Subject)
	first, err := s.change(ctx, events{{ev, opAudit(op)}}, old, state.Change{ID: old.ID, Status: state.StatusSuperseded, Reason: "变更", At: now, SupersededBy: rec.ID}, insert(put))
	if err != nil {
		s.status.Release(list, idx)
		return nil, err
	}
	s.log.Info("licence re-issued", "id", rec.ID, "supersedes", old.ID, "ledger_index", first, "operator", op.Subject)
	return rec, nil
}

package service

import (
	"context"
	"fmt"

	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/issuer/seal"
	"elicense/issuer/state"
)

// SealRequest asks an agency to make an electronic seal for a holder.
type SealRequest struct {
	Agency     string `json:"agency,omitempty"` // the maker; defaults to the operator's
	HolderName string `json:"holder_name"`
	HolderCode string `json:"holder_code"`
	Type       int64  `json:"type,omitempty"`  // 1 公章 (default), 2 财务专用章, 3 发票专用章, 4 合同专用章, 5 法定代表人名章
	Years      int    `json:"years,omitempty"` // validity; default 3
	SignerCert []byte `json:"signer_cert"`     // DER certificate allowed to use the seal
	Picture    []byte `json:"picture,omitempty"`
}

// MadeSeal is a seal made, as the API returns it.
type MadeSeal struct {
	ESID        string `json:"esid"`
	Name        string `json:"name"`
	DER         []byte `json:"seal"`
	LedgerIndex uint64 `json:"ledger_index"`
}

// MakeSeal has the agency make a GB/T 38540 seal for a holder and records
// it in the ledger (seal-make) before returning it.
func (s *Service) MakeSeal(ctx context.Context, op Operator, req SealRequest) (*MadeSeal, error) {
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	agency := req.Agency
	if agency == "" {
		agency = op.Agency
	}
	ag, ok := s.pki().Agency(agency)
	if !ok {
		return nil, invalid("agency", "unknown agency %q", agency)
	}
	if err := op.canManageSeals(ag.Code); err != nil {
		return nil, err
	}
	if err := s.keyUsable(ag); err != nil {
		return nil, err
	}
	if len(req.SignerCert) == 0 {
		return nil, invalid("signer_cert", "the certificate allowed to use the seal is required")
	}
	if _, err := gm.ParseCertificate(req.SignerCert); err != nil {
		return nil, &Error{Kind: ErrInvalid, Field: "signer_cert", Msg: "not an SM2 certificate", Err: err}
	}
	years := req.Years
	if years == 0 {
		years = 3
	}
	if years < 1 || years > 10 {
		return nil, invalid("years", "validity of %d years is outside 1..10", years)
	}
	now := s.now()
	made, err := seal.Make(seal.MakerFromAgency(ag), seal.Options{
		HolderName: req.HolderName, HolderCode: req.HolderCode, Type: req.Type,
		ValidUntil: now.AddDate(years, 0, 0), SignerCerts: [][]byte{req.SignerCert}, Picture: req.Picture, Now: now,
	})
	if err != nil {
		return nil, &Error{Kind: ErrInvalid, Msg: "cannot make the seal", Err: err}
	}
	sum := gm.SM3(made.DER)
	ev := s.audit.SealMade(ledgerevent.SealMade{Time: now, Agency: ag.Code, ESID: made.ESID, Seal: sum}, req.HolderCode, req.HolderName, op.Subject)
	audit := map[string]string{ledgerevent.FieldHolderCode: req.HolderCode, ledgerevent.FieldHolderName: req.HolderName, ledgerevent.FieldOperator: op.Subject}
	idx, err := s.record(ctx, events{{ev, audit}},
		func(tx state.Tx, idx uint64) error {
			return tx.PutSeal(state.SealRecord{ESID: made.ESID, Agency: ag.Code, HolderCode: req.HolderCode, MadeAt: now, LedgerIndex: idx})
		})
	if err != nil {
		return nil, err
	}
	return &MadeSeal{ESID: made.ESID, Name: made.Seal.Info.Property.Name, DER: made.DER, LedgerIndex: idx}, nil
}

// RevokeSeal revokes a seal an agency made (seal-revoke in the ledger);
// the next trust bundle lists it.
func (s *Service) RevokeSeal(ctx context.Context, op Operator, esid, reason string) (*state.SealRecord, error) {
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	if reason == "" {
		return nil, invalid("reason", "a reason is required (遗失, 停用, 单位注销 …)")
	}
	unlock := s.lock("seal\x00" + esid)
	defer unlock()
	rec, err := s.store.Seal(esid)
	if err != nil {
		return nil, &Error{Kind: ErrNotFound, Field: "esid", Msg: "no seal " + esid}
	}
	if op.Role != RoleAdmin && op.Agency != rec.Agency {
		return nil, &Error{Kind: ErrNotFound, Field: "esid", Msg: "no seal " + esid} // another agency's seal stays invisible
	}
	if err := op.canManageSeals(rec.Agency); err != nil {
		return nil, err
	}
	if !rec.RevokedAt.IsZero() {
		return nil, &Error{Kind: ErrConflict, Field: "esid", Msg: "the seal is already revoked"}
	}
	now := s.now()
	ev := s.audit.SealRevoked(ledgerevent.SealRevoked{Time: now, Agency: rec.Agency, ESID: esid, Reason: reason}, op.Subject)
	_, err = s.record(ctx, events{{ev, opAudit(op)}},
		func(tx state.Tx, idx uint64) error { return tx.RevokeSeal(esid, now, reason, idx) })
	if err != nil {
		return nil, err
	}
	rec.RevokedAt, rec.Reason = now, reason
	return rec, nil
}

// canManageSeals: admins, and operators of the agency who are not limited
// to some licence classes (seals are the agency's, not a class's).
func (op Operator) canManageSeals(agency string) error {
	switch {
	case op.Role == RoleAdmin:
		return nil
	case op.Role == RoleOperator && op.Agency == agency && len(op.Classes) == 0:
		return nil
	}
	return &Error{Kind: ErrForbidden, Msg: fmt.Sprintf("%s may not make or revoke seals of agency %s", op.Subject, agency)}
}

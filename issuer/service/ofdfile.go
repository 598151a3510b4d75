package service

import (
	"errors"
	"fmt"
	"time"

	"elicense/certs/qr"
	"elicense/certs/ses"
	"elicense/issuer/ofdfile"
	"elicense/issuer/state"

	jsonv2 "github.com/go-json-experiment/json"
)

// LicenceOFD returns the sealed OFD file of licence id (issuer/ofdfile),
// signed now by its agency with the licence-face seal. An operator needs
// the rights of a change (its agency, within its classes), since the file
// carries the agency's seal; an auditor of the agency, whose work is to
// read what the agency issued, may have it as issue 18 asks; an admin
// may. Only a valid licence is sealed: a revoked, suspended or superseded one is
// ErrConflict, since a file sealed now would be dated after the licence
// stopped being valid. Making it changes nothing, so it is no ledger
// event.
func (s *Service) LicenceOFD(op Operator, id string) ([]byte, error) {
	r, err := s.Get(op, id)
	if err != nil {
		return nil, err
	}
	cl, ok := s.cat.Lookup(r.Class)
	if !ok {
		return nil, &Error{Kind: ErrConflict, Msg: "class " + r.Class + " is no longer in the catalogue"}
	}
	if op.Role != RoleAuditor { // an auditor's read rights were checked by Get
		if err := op.canAct(r.Agency, cl); err != nil {
			return nil, err
		}
	}
	if r.Status != state.StatusValid {
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: fmt.Sprintf("the licence is %s: no sealed file is made of it", r.Status)}
	}
	return s.licenceOFD(r)
}

// HolderOFD returns the OFD file of licence id to the holder of its copy
// copyID, whose proof the caller has verified with ProofKey's key:
// the file of the licence itself (its static QR, as on paper). A copy of
// another licence is ErrNotFound; a licence or copy that is not valid
// (revoked, suspended, superseded, unbound) is ErrConflict: the holder's
// wallet does not present it either.
func (s *Service) HolderOFD(copyID, id string) ([]byte, error) {
	c, err := s.copyRecord(copyID)
	if err != nil {
		return nil, err
	}
	if c.CopyOf != id {
		return nil, &Error{Kind: ErrNotFound, Field: "id", Msg: "no licence " + id + " for this copy"}
	}
	if c.Status != state.StatusValid {
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: fmt.Sprintf("the copy is %s", c.Status)}
	}
	r, err := s.store.Get(id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, &Error{Kind: ErrNotFound, Field: "id", Msg: "no licence " + id}
	}
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the store", Err: err}
	}
	if r.Status != state.StatusValid {
		return nil, &Error{Kind: ErrConflict, Field: "id", Msg: fmt.Sprintf("the licence is %s", r.Status)}
	}
	return s.licenceOFD(r)
}

func (s *Service) copyRecord(copyID string) (*state.Record, error) {
	notFound := &Error{Kind: ErrNotFound, Field: "sub", Msg: "no bound copy " + copyID}
	c, err := s.store.Get(copyID)
	if errors.Is(err, state.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the store", Err: err}
	}
	if c.CopyOf == "" || c.Device == "" || c.Unbound {
		return nil, notFound
	}
	return c, nil
}

func (s *Service) licenceOFD(r *state.Record) ([]byte, error) { return s.licenceOFDAt(r, s.now()) }

// licenceOFDAt is the OFD file of r signed as of at.
func (s *Service) licenceOFDAt(r *state.Record, at time.Time) ([]byte, error) {
	cl, ok := s.cat.Lookup(r.Class)
	if !ok {
		return nil, &Error{Kind: ErrConflict, Msg: "class " + r.Class + " is no longer in the catalogue"}
	}
	k := s.keys.Load()
	ag, ok := k.pki.Agency(r.Agency)
	sl, hasSeal := k.seals[r.Agency]
	if !ok || !hasSeal {
		return nil, &Error{Kind: ErrConflict, Msg: "agency " + r.Agency + " has no key or licence-face seal"}
	}
	seal, err := ses.ParseSeal(sl.DER)
	if err != nil {
		return nil, fmt.Errorf("service: seal of agency %s: %w", r.Agency, err)
	}
	text, err := staticQR(r)
	if err != nil {
		return nil, &Error{Kind: ErrConflict, Msg: "licence has no QR core", Err: err}
	}
	l := &ofdfile.Licence{
		Class: cl, ID: r.ID, Number: cl.Number(r.Number, r.Fields), IssuerName: ag.Name, IssuerCode: ag.Code,
		IssuedOn: r.IssuedOn, Fields: r.Fields, QR: text,
	}
	out, err := ofdfile.Build(l, ofdfile.Sealer{Seal: seal, Cert: ag.CertDER, Signer: ag.Signer}, ofdfile.Options{At: at})
	if err != nil {
		return nil, fmt.Errorf("service: OFD file of %s: %w", r.ID, err)
	}
	return out, nil
}

// staticQR is the licence's static (paper) QR text.
func staticQR(r *state.Record) (string, error) {
	if r.Holding != nil {
		return r.Holding.Static()
	}
	var h qr.Holding
	if err := jsonv2.Unmarshal(r.QR, &h); err != nil {
		return "", err
	}
	return h.Static()
}

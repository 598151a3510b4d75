package service

import (
	"encoding/hex"
	"errors"
	"fmt"

	"elicense/certs/ledgerevent"
	"elicense/issuer/state"
)

// OpenedField is one committed field of a ledger event, opened for an
// auditor: the salt and the value, which anyone can check against the
// public entry with ledgerevent.VerifyOpening.
type OpenedField struct {
	Index   uint64              `json:"index"`
	Kind    ledgerevent.Kind    `json:"kind"`
	Subject string              `json:"subject"`
	Field   string              `json:"field"`
	Salt    string              `json:"salt"`  // hex
	Value   string              `json:"value"` // text; hex for the device key
	Event   ledgerevent.Event   `json:"-"`
	Opening ledgerevent.Opening `json:"-"`
}

// OpenLedgerField opens field of the ledger event at index for an
// auditor (admins only). The value is the one the state recorded with
// the event; value, if not empty, is checked instead (events written
// without an audit record, such as the offline key commands'). The
// opening is checked against the entry before it is returned.
func (s *Service) OpenLedgerField(op Operator, index uint64, field, value string) (*OpenedField, error) {
	if op.Role != RoleAdmin {
		return nil, &Error{Kind: ErrForbidden, Msg: "only an admin may open ledger commitments"}
	}
	if index >= s.ledger.Size() {
		return nil, &Error{Kind: ErrNotFound, Field: "index", Msg: fmt.Sprintf("the ledger has %d entries", s.ledger.Size())}
	}
	ev, err := s.event(index)
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the ledger", Err: err}
	}
	if value == "" {
		rec, err := s.store.Audit(index)
		switch {
		case errors.Is(err, state.ErrNotFound):
			return nil, &Error{Kind: ErrNotFound, Field: "value", Msg: fmt.Sprintf("no audit record for entry %d: give the value to check", index)}
		case err != nil:
			return nil, &Error{Kind: ErrUnavailable, Msg: "reading the audit record", Err: err}
		}
		v, ok := rec[field]
		if !ok {
			return nil, &Error{Kind: ErrNotFound, Field: "field", Msg: fmt.Sprintf("entry %d (%s) records no %q", index, ev.Kind(), field)}
		}
		value = v
	}
	raw := []byte(value)
	if field == ledgerevent.FieldDevice {
		if raw, err = hex.DecodeString(value); err != nil {
			return nil, invalid("value", "a device key is given in hex")
		}
	}
	o, err := s.audit.Open(ev, field, raw)
	switch {
	case errors.Is(err, ledgerevent.ErrNoField):
		return nil, &Error{Kind: ErrInvalid, Field: "field", Msg: fmt.Sprintf("a %s event has no committed field %q (it has %v)", ev.Kind(), field, ledgerevent.CommittedFields(ev)), Err: err}
	case errors.Is(err, ledgerevent.ErrOpening):
		return nil, &Error{Kind: ErrConflict, Field: "value", Msg: "the value does not open the commitment", Err: err}
	case err != nil:
		return nil, err
	}
	return &OpenedField{Index: index, Kind: ev.Kind(), Subject: ev.Head().Subject, Field: field, Salt: hex.EncodeToString(o.Salt[:]), Value: value, Event: ev, Opening: o}, nil
}

package service

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/issuer/state"
)

// Use is one ledger event about a licence copy, as its holder's wallet
// lists and checks it (docs/consent.md §7).
type Use struct {
	Index   uint64           `json:"index"`
	Kind    ledgerevent.Kind `json:"kind"`
	Time    string           `json:"time"` // RFC 3339
	Raw     string           `json:"raw"`  // the entry, base64
	RP      *NamedCode       `json:"rp,omitempty"`
	Matter  *NamedCode       `json:"matter,omitempty"`
	Fields  []string         `json:"fields,omitempty"`
	Counter string           `json:"counter,omitempty"`
	Verdict string           `json:"verdict,omitempty"`
	Grant   string           `json:"grant,omitempty"`
	Opening *UseOpening      `json:"opening,omitempty"`
}

// NamedCode is a relying party (id, name) or a matter (code, name).
type NamedCode struct {
	ID   string `json:"id,omitempty"`
	Code string `json:"code,omitempty"`
	Name string `json:"name"`
}

// UseOpening opens an event's commitment to the copy: SM3(salt ‖ value)
// is the entry's commitment.
type UseOpening struct {
	Field string `json:"field"`
	Salt  string `json:"salt"` // hex
	Value string `json:"value"`
}

// HolderUses lists every ledger event about licence copy c.Copy, oldest
// first: its claim, its grants, their fetches and revocations, and the
// counters' verifications, with the opening of each commitment to the
// copy.
func (s *Service) HolderUses(c Caller, copyID string) ([]*Use, error) {
	if c.Copy == "" || c.Copy != copyID {
		return nil, &Error{Kind: ErrForbidden, Code: CodeLicenceNotCopy, Field: "licence", Msg: "a holder lists the uses of the copy its proof is signed for"}
	}
	idx, err := s.store.Uses(copyID)
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the uses", Err: err}
	}
	// Counters that checked the licence's static QR (its paper form)
	// filed their receipts under the licence: the holder sees them too.
	if lic, _, ok := strings.Cut(copyID, "#"); ok {
		more, err := s.store.Uses(lic)
		if err != nil {
			return nil, &Error{Kind: ErrUnavailable, Msg: "reading the uses", Err: err}
		}
		if len(more) > 0 {
			idx = append(slices.Clip(idx), more...)
			slices.Sort(idx)
			idx = slices.Compact(idx)
		}
	}
	parties := map[string]*state.RelyingParty{}
	partyOf := func(id string) *state.RelyingParty {
		rp, ok := parties[id]
		if !ok {
			rp, _ = s.party(id)
			parties[id] = rp
		}
		return rp
	}
	// A grant-use or revocation names the grant; its matter and fields
	// are the grant's.
	grants := map[string]*state.Grant{}
	out := make([]*Use, 0, len(idx))
	for _, i := range idx {
		raw, err := s.ledger.Entry(i)
		if err != nil {
			return nil, &Error{Kind: ErrUnavailable, Msg: "reading the ledger", Err: err}
		}
		ev, err := ledgerevent.Decode(raw)
		if err != nil {
			return nil, &Error{Kind: ErrConflict, Msg: "a ledger entry does not decode", Err: err}
		}
		u := &Use{Index: i, Kind: ev.Kind(), Time: ev.Head().Time.UTC().Format(time.RFC3339), Raw: base64.StdEncoding.EncodeToString(raw)}
		var grant, rpID string
		switch e := ev.(type) {
		case *ledgerevent.Grant:
			grant, rpID, u.Fields = e.Grant, e.RP, strings.Split(e.Fields, ",")
			u.Matter = &NamedCode{Code: e.Matter}
		case *ledgerevent.GrantUse:
			grant, rpID = e.Grant, e.RP
		case *ledgerevent.GrantRevoked:
			grant, rpID = e.Grant, e.RP
		case *ledgerevent.CounterVerified:
			u.Counter, u.Verdict = e.Counter, e.Verdict
		}
		if grant != "" {
			u.Grant = grant
			g, ok := grants[grant]
			if !ok {
				g, _ = s.store.Grant(grant)
				grants[grant] = g
			}
			if g != nil {
				u.Fields = g.Fields
				if u.Matter == nil {
					u.Matter = &NamedCode{Code: g.Matter}
				}
			}
			u.RP = &NamedCode{ID: rpID}
			if rp := partyOf(rpID); rp != nil {
				u.RP.Name = rp.Name
				for _, m := range rp.Matters {
					if u.Matter != nil && m.Code == u.Matter.Code {
						u.Matter.Name = m.Name
					}
				}
			}
		}
		if o, err := s.openLicence(i, ev); err != nil {
			return nil, err
		} else if o != nil {
			u.Opening = o
		}
		out = append(out, u)
	}
	return out, nil
}

// openLicence opens event i's commitment to the licence copy, if it has
// one, from its audit record.
func (s *Service) openLicence(i uint64, ev ledgerevent.Event) (*UseOpening, error) {
	switch ev.(type) {
	case *ledgerevent.Grant, *ledgerevent.CounterVerified:
	default:
		return nil, nil
	}
	rec, err := s.store.Audit(i)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the audit record", Err: err}
	}
	v, ok := rec[ledgerevent.FieldLicence]
	if !ok {
		return nil, nil
	}
	o, err := s.audit.Open(ev, ledgerevent.FieldLicence, []byte(v))
	if err != nil {
		// The audit record does not open the entry: say nothing rather
		// than something the wallet would refuse.
		s.log.Error("an audit record does not open its entry", "index", i, "err", err)
		return nil, nil
	}
	return &UseOpening{Field: ledgerevent.FieldLicence, Salt: hex.EncodeToString(o.Salt[:]), Value: v}, nil
}

package service

import (
	"context"
	"fmt"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/certs/ses"
	"elicense/issuer/state"
)

// ArchiveFile returns the sealed OFD file of licence version r as its
// archive package keeps it (issuer/archive): signed as of the version's
// issuance (or the licence-face seal's start, if that is later), so the
// same version gives the same bytes whenever it is exported. Making it
// changes nothing.
func (s *Service) ArchiveFile(r *state.Record) ([]byte, error) {
	at := r.IssuedAt
	if sl, ok := s.keys.Load().seals[r.Agency]; ok {
		if seal, err := ses.ParseSeal(sl.DER); err == nil {
			if vs := seal.Info.Property.ValidStart.Time(); at.Before(vs) {
				at = vs
			}
		}
	}
	return s.licenceOFDAt(r, at)
}

// ArchiveExport is what the ledger records of an archive package.
type ArchiveExport struct {
	Agency   string
	From, To time.Time
	Count    uint64
	Manifest [32]byte // SM3 of the package's manifest.json
}

// RecordArchiveExport records an exported archive package as an
// archive-exported ledger event and returns its index. Admins only.
func (s *Service) RecordArchiveExport(ctx context.Context, op Operator, a ArchiveExport) (uint64, error) {
	if op.Role != RoleAdmin {
		return 0, &Error{Kind: ErrForbidden, Msg: fmt.Sprintf("%s may not export archives (admins only)", op.Subject)}
	}
	if _, ok := s.pki().Agency(a.Agency); !ok {
		return 0, &Error{Kind: ErrNotFound, Field: "agency", Msg: "no agency " + a.Agency}
	}
	if !a.From.Before(a.To) {
		return 0, &Error{Kind: ErrInvalid, Field: "to", Msg: "the period's end is not after its start"}
	}
	end, err := s.begin()
	if err != nil {
		return 0, err
	}
	defer end()
	ev := s.audit.ArchiveExported(ledgerevent.ArchiveExported{
		Time: s.now().UTC(), Agency: a.Agency, From: a.From.UTC(), To: a.To.UTC(), Count: a.Count, Manifest: a.Manifest,
	}, op.Subject)
	return s.record(ctx, events{{ev: ev, audit: opAudit(op)}}, nil)
}

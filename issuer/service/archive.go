package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/certs/ses"
	"elicense/internal/ledger"
	"elicense/issuer/archive"
	"elicense/issuer/state"
)

// ArchiveFile returns the sealed OFD file of licence version r as its
// archive package keeps it (issuer/archive), and the time it is signed
// as of: the version's issuance (or the licence-face seal's start, if
// that is later), so the same version gives the same bytes whenever it is
// exported. The file is made at export and backdated to that time: the
// archive records it (metadata.json ofd_signed_at) and docs/formats.md §6
// says so. Making it changes nothing.
func (s *Service) ArchiveFile(r *state.Record) ([]byte, time.Time, error) {
	at := r.IssuedAt
	if sl, ok := s.keys.Load().seals[r.Agency]; ok {
		if seal, err := ses.ParseSeal(sl.DER); err == nil {
			if vs := seal.Info.Property.ValidStart.Time(); at.Before(vs) {
				at = vs
			}
		}
	}
	b, err := s.licenceOFDAt(r, at)
	return b, at.UTC().Truncate(time.Second), err
}

// CodeNothingToArchive is the reason code of an export refused because
// the agency issued or changed no licence in the period.
const CodeNothingToArchive = "NOTHING_TO_ARCHIVE"

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

// ArchiveLedger is what an archive export needs of the ledger beyond
// Ledger: proofs, the origin and the stored entries and checkpoints (a
// *ledger.Log[state.Tx] has them).
type ArchiveLedger interface {
	archive.Proofs
	Store() ledger.Store[state.Tx]
}

// ExportArchive writes the archive package of o's period to w
// (issuer/archive) and records it as an archive-exported event, once the
// whole package is written. Admins only. Errors about o are ErrInvalid (a
// period that is empty or has not ended yet; one with no licence event
// of the agency has Code CodeNothingToArchive) or ErrNotFound; no
// checkpoint covering the period yet is ErrUnavailable. Nothing is
// written or recorded then.
func (s *Service) ExportArchive(ctx context.Context, op Operator, w io.Writer, o archive.Options) (*archive.Result, error) {
	if op.Role != RoleAdmin {
		return nil, &Error{Kind: ErrForbidden, Msg: fmt.Sprintf("%s may not export archives (admins only)", op.Subject)}
	}
	if _, ok := s.pki().Agency(o.Agency); !ok {
		return nil, &Error{Kind: ErrNotFound, Field: "agency", Msg: "no agency " + o.Agency}
	}
	if !o.From.Before(o.To) {
		return nil, &Error{Kind: ErrInvalid, Field: "to", Msg: "the period's end is not after its start"}
	}
	o.Now = s.now()
	if o.To.After(o.Now) {
		return nil, &Error{Kind: ErrInvalid, Field: "to", Msg: "the period has not ended yet: export it once it has"}
	}
	lg, ok := s.ledger.(ArchiveLedger)
	if !ok {
		return nil, &Error{Kind: ErrUnavailable, Msg: "this ledger cannot give inclusion proofs"}
	}
	if o.Wait == 0 {
		o.Wait = 3 * ledger.DefaultCheckpointInterval
	}
	src := archive.Source{Ledger: lg, Entries: lg.Store(), Records: s.store, Files: s, PKI: s.pki(), Catalog: s.cat}
	res, err := archive.Export(ctx, w, src, o)
	switch {
	case errors.Is(err, archive.ErrNothing):
		return nil, &Error{Kind: ErrInvalid, Code: CodeNothingToArchive, Msg: err.Error()}
	case errors.Is(err, archive.ErrNoCheckpoint):
		return nil, &Error{Kind: ErrUnavailable, Msg: err.Error()}
	case errors.Is(err, archive.ErrInvalid):
		return nil, &Error{Kind: ErrInvalid, Msg: err.Error()}
	case err != nil:
		return nil, err
	}
	_, err = s.RecordArchiveExport(ctx, op, ArchiveExport{Agency: o.Agency, From: o.From, To: o.To, Count: uint64(res.Count), Manifest: res.Manifest})
	if err != nil {
		return nil, err
	}
	return res, nil
}

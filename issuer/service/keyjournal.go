package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"elicense/certs/ledgerevent"
	"elicense/internal/atomicfile"
	"elicense/issuer/pki"
)

// A key change writes the PKI directory, then appends its ledger event.
// A crash, or a ledger that fails, between the two would leave a trust
// bundle with the new key states and no event recording them. So the
// events are first written to a journal in the PKI directory, durably;
// the journal is removed once they are in the ledger, and Recover
// finishes what a journal left: it appends the events when the PKI shows
// the change and the ledger lacks them, and drops them when the PKI does
// not show it (the change never happened).

// keyJournalFile is the journal's name in the PKI directory.
const keyJournalFile = "key-change.pending"

// keyJournal is a key change under way.
type keyJournal struct {
	LedgerSize uint64              `json:"ledger_size"` // the ledger's size before the events
	Agency     string              `json:"agency"`
	KeyID      string              `json:"key_id"`  // the agency's new key (rotated), or the key compromised
	Rotated    bool                `json:"rotated"` // a rotation (else a previous key's compromise)
	Events     [][]byte            `json:"events"`  // format-2 encodings
	Audit      []map[string]string `json:"audit"`   // each event's personal values
}

func (s *Service) keyJournalPath() string { return filepath.Join(s.pki().Dir, keyJournalFile) }

// writeKeyJournal records es as the change of agency's key kid durably,
// before the PKI directory changes.
func (s *Service) writeKeyJournal(agency, kid string, rotated bool, es events) error {
	j := keyJournal{LedgerSize: s.ledger.Size(), Agency: agency, KeyID: kid, Rotated: rotated}
	for _, e := range es {
		b, err := ledgerevent.Encode(e.ev)
		if err != nil {
			return &Error{Kind: ErrInvalid, Msg: "the key event does not encode", Err: err}
		}
		j.Events, j.Audit = append(j.Events, b), append(j.Audit, e.audit)
	}
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(s.keyJournalPath(), data, 0o600); err != nil {
		return &Error{Kind: ErrUnavailable, Msg: "writing the key change's journal", Err: err}
	}
	return nil
}

// dropKeyJournal removes the journal once its events are in the ledger.
func (s *Service) dropKeyJournal() {
	if err := os.Remove(s.keyJournalPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("removing the key change's journal", "err", err)
	}
}

// finishKeyJournal completes a key change a journal left at start.
func (s *Service) finishKeyJournal(ctx context.Context) error {
	data, err := os.ReadFile(s.keyJournalPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var j keyJournal
	if err := json.Unmarshal(data, &j); err != nil || len(j.Events) == 0 || len(j.Audit) != len(j.Events) {
		return fmt.Errorf("service: the key change journal %s is damaged (%v): compare the PKI's key states with the ledger's key events, then remove it", s.keyJournalPath(), err)
	}
	if !s.keyChangeDone(j) {
		s.log.Warn("a key change's journal names a change the PKI does not show: dropped", "agency", j.Agency, "kid", j.KeyID)
		s.dropKeyJournal()
		if ag, ok := s.pki().Agency(j.Agency); ok && j.Rotated && s.replica.shared != nil {
			s.unfence(ag.KeyID, 0) // the rotation fenced the key it did not replace
		}
		return nil
	}
	for i := j.LedgerSize; i < s.ledger.Size(); i++ {
		raw, err := s.ledger.Entry(i)
		if err != nil {
			return err
		}
		if bytes.Equal(raw, j.Events[0]) {
			s.dropKeyJournal() // appended before the journal could be removed
			return nil
		}
	}
	es := make(events, len(j.Events))
	for i, raw := range j.Events {
		ev, err := ledgerevent.Decode(raw)
		if err != nil {
			return fmt.Errorf("service: the key change journal %s: event %d: %w", s.keyJournalPath(), i, err)
		}
		es[i] = event{ev, j.Audit[i]}
	}
	idx, err := s.record(ctx, es, retireKeys(es))
	if err != nil {
		return err
	}
	s.log.Warn("a key change's ledger event, left by a crash or a failed append, is recorded", "agency", j.Agency, "kid", j.KeyID, "ledger_index", idx)
	s.dropKeyJournal()
	return nil
}

// keyChangeDone reports whether the PKI shows the journal's change.
func (s *Service) keyChangeDone(j keyJournal) bool {
	ag, ok := s.pki().Agency(j.Agency)
	if !ok {
		return false
	}
	if j.Rotated {
		return ag.KeyID == j.KeyID
	}
	return slices.ContainsFunc(ag.Previous, func(pk *pki.Previous) bool { return pk.KeyID == j.KeyID && pk.State == pki.KeyCompromised })
}

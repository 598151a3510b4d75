package service

import (
	"encoding/hex"
	"fmt"
	"time"

	json "github.com/go-json-experiment/json"

	"elicense/certs/qr"
	"elicense/certs/trust"
	"elicense/issuer/state"
)

// GenuineSet builds the genuine-set document of agency key kid,
// compromised since since: an entry (status position, tag of the exact
// core bytes) for every QR core in st that the key signed before since.
// The store holds every core the issuer handed out — issuances,
// re-issues and the device copies made at claim time, each with its own
// status position — written in the transaction of its ledger event, so
// the set is exactly what the ledger recorded (each record's credential
// hash is its issuance event's; the core commits to the credential).
// A core's signing time is its own (format 2) or, for a format 1 core,
// the time its record was made. It returns the document and its count.
//
// Counters accept the cores listed and refuse every other core of the
// key, however it is dated (certs/trust, genuine.go).
func GenuineSet(st state.Store, kid string, since time.Time) ([]byte, uint64, error) {
	want, err := hex.DecodeString(kid)
	if err != nil {
		return nil, 0, fmt.Errorf("service: key ID %q: %w", kid, err)
	}
	var es []trust.GenuineEntry
	err = st.ForEachSigned(func(r *state.Record) error {
		h := r.Holding
		if h == nil && r.QR != nil {
			h = new(qr.Holding)
			if err := json.Unmarshal(r.QR, h); err != nil {
				return fmt.Errorf("service: QR core of %s: %w", r.ID, err)
			}
		}
		if h == nil || hex.EncodeToString(h.KeyID) != hex.EncodeToString(want) {
			return nil
		}
		in, err := h.Info()
		if err != nil {
			return fmt.Errorf("service: QR core of %s: %w", r.ID, err)
		}
		signed := in.SignedAt
		if signed.IsZero() {
			signed = r.IssuedAt
		}
		if !signed.Before(since) || in.StatusList == "" {
			// A core without a status reference is refused by every
			// counter anyway.
			return nil
		}
		es = append(es, trust.GenuineEntry{List: in.StatusList, Index: in.StatusIndex, Tag: trust.GenuineTag(h.Core)})
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	doc, err := trust.MarshalGenuineSet(kid, since, es)
	if err != nil {
		return nil, 0, err
	}
	g, err := trust.ParseGenuineSet(doc)
	if err != nil {
		return nil, 0, err
	}
	return doc, g.Len(), nil
}

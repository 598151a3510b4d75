package service

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/certs/receipt"
	"elicense/issuer/pki"
	"elicense/issuer/state"
)

// RoleCounter is a counter's token (docs/consent.md §1): its subject is
// the counter's display name and its agency the agency it belongs to. It
// may only upload receipts.
const RoleCounter Role = "counter"

// UploadReceipts records a counter's receipts (docs/consent.md §9), each
// as a counter-verified ledger event with the token's subject as counter,
// in the batch's order. A receipt whose id was taken before is a
// duplicate (uploads are idempotent); one whose licence does not decrypt
// under the receipt key, or names a licence or device copy the platform
// does not hold, is counted unknown and dropped. Each accepted receipt's
// event commits to the copy identifier (the licence identifier for a
// static QR), keeps it in the audit record and is added to that copy's
// uses. Only counter tokens upload (ErrForbidden).
//
// The receipt ids taken and the uses commit in the transaction of the
// events' ledger append, on every backend, so the start-up replay
// (Recover) has nothing to re-apply for counter-verified events (it could
// not: an event holds only a commitment to the copy identifier).
func (s *Service) UploadReceipts(ctx context.Context, op Operator, b *receipt.Batch) (receipt.Answer, error) {
	var ans receipt.Answer
	if op.Role != RoleCounter {
		return ans, &Error{Kind: ErrForbidden, Msg: "only a counter token uploads receipts"}
	}
	end, err := s.begin()
	if err != nil {
		return ans, err
	}
	defer end()
	rk := s.pki().Receipt
	if rk == nil {
		return ans, &Error{Kind: ErrUnavailable, Msg: "this issuer has no receipt key yet (elicense receipt-key)"}
	}
	var ps []placed
	for _, r := range b.Receipts {
		if err := ctx.Err(); err != nil {
			return ans, &Error{Kind: ErrUnavailable, Msg: "the upload was cut short; upload the batch again", Err: err}
		}
		subject, agency, ok := s.receiptSubject(rk, r)
		if !ok || r.Time().After(s.now().Add(MaxReceiptSkew)) {
			ans.Unknown++
			continue
		}
		ps = append(ps, placed{r, subject, agency})
	}
	if len(ps) == 0 {
		return ans, nil
	}
	// The batch's events in one ledger append, which refuses them all if
	// one receipt id was taken before: a batch sent again after a lost
	// answer. Then one at a time, each duplicate found by its refusal.
	err = s.recordReceipts(ctx, op, ps)
	if err == nil {
		ans.Accepted = len(ps)
		return ans, nil
	}
	if !errors.Is(err, state.ErrExists) {
		return ans, err
	}
	for _, p := range ps {
		dup, err := s.recordReceipt(ctx, op, p)
		switch {
		case err != nil:
			return ans, err
		case dup:
			ans.Duplicates++
		default:
			ans.Accepted++
		}
	}
	return ans, nil
}

// MaxReceiptSkew is how far past the issuer's clock a receipt's time
// may be: a counter whose clock runs ahead gets its receipts counted
// unknown rather than its future times into the ledger.
const MaxReceiptSkew = 10 * time.Minute

// placed is a receipt and what it is about (receiptSubject).
type placed struct {
	r               receipt.Receipt
	subject, agency string
}

// receiptEvent is p's counter-verified event with its audit record.
func (s *Service) receiptEvent(op Operator, p placed) event {
	ev := s.audit.CounterVerified(ledgerevent.CounterVerified{
		Time: s.now(), Agency: p.agency, Receipt: p.r.ID, Counter: op.Subject, Verdict: p.r.Verdict, At: p.r.Time(),
	}, p.subject)
	return event{ev, map[string]string{ledgerevent.FieldLicence: p.subject}}
}

// recordReceipts writes the events of ps in one ledger append, each
// receipt id taken and each event added to its subject's uses; nothing
// is written if one id was taken before (state.ErrExists).
func (s *Service) recordReceipts(ctx context.Context, op Operator, ps []placed) error {
	es := make(events, len(ps))
	for i, p := range ps {
		es[i] = s.receiptEvent(op, p)
	}
	_, err := s.record(ctx, es, func(tx state.Tx, first uint64) error {
		for i, p := range ps {
			if err := tx.TakeReceipt(p.r.ID, first+uint64(i)); err != nil {
				return err
			}
			if err := tx.AddUse(p.subject, first+uint64(i)); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// receiptSubject opens r's licence and finds what the receipt is about:
// the bound copy whose device key it names, or the licence itself for a
// static QR, with the licence's agency.
func (s *Service) receiptSubject(rk *pki.ReceiptKey, r receipt.Receipt) (subject, agency string, ok bool) {
	l, err := receipt.OpenString(rk.Key, r.Licence)
	if err != nil {
		return "", "", false
	}
	rec, err := s.store.Get(l.ID)
	if err != nil || rec.CopyOf != "" {
		return "", "", false
	}
	if l.DeviceKey == nil {
		return rec.ID, rec.Agency, true
	}
	dev := hex.EncodeToString(l.DeviceKey)
	for _, id := range rec.Copies {
		if c, err := s.store.Get(id); err == nil && c.Device == dev {
			return c.ID, rec.Agency, true
		}
	}
	return "", "", false
}

// recordReceipt writes p's counter-verified event alone; dup reports a
// receipt id already taken.
func (s *Service) recordReceipt(ctx context.Context, op Operator, p placed) (dup bool, err error) {
	unlock := s.lock("receipt\x00" + p.r.ID)
	defer unlock()
	_, err = s.record(ctx, events{s.receiptEvent(op, p)}, func(tx state.Tx, idx uint64) error {
		if err := tx.TakeReceipt(p.r.ID, idx); err != nil {
			return err
		}
		return tx.AddUse(p.subject, idx)
	})
	if errors.Is(err, state.ErrExists) {
		return true, nil
	}
	return false, err
}

package service

import (
	"context"
	"encoding/hex"
	"errors"

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
	for _, r := range b.Receipts {
		if err := ctx.Err(); err != nil {
			return ans, &Error{Kind: ErrUnavailable, Msg: "the upload was cut short; upload the batch again", Err: err}
		}
		subject, agency, ok := s.receiptSubject(rk, r)
		if !ok {
			ans.Unknown++
			continue
		}
		dup, err := s.recordReceipt(ctx, op, r, subject, agency)
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

// recordReceipt writes r's counter-verified event; dup reports a receipt
// id already taken.
func (s *Service) recordReceipt(ctx context.Context, op Operator, r receipt.Receipt, subject, agency string) (dup bool, err error) {
	unlock := s.lock("receipt\x00" + r.ID)
	defer unlock()
	ev := s.audit.CounterVerified(ledgerevent.CounterVerified{
		Time: s.now(), Agency: agency, Receipt: r.ID, Counter: op.Subject, Verdict: r.Verdict, At: r.Time(),
	}, subject)
	_, err = s.record(ctx, events{{ev, map[string]string{ledgerevent.FieldLicence: subject}}},
		func(tx state.Tx, idx uint64) error {
			if err := tx.TakeReceipt(r.ID, idx); err != nil {
				return err
			}
			return tx.AddUse(subject, idx)
		})
	if errors.Is(err, state.ErrExists) {
		return true, nil
	}
	return false, err
}

package boltstate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	json "github.com/go-json-experiment/json"
	bolt "go.etcd.io/bbolt"

	"elicense/issuer/state"
)

// Export implements state.Exporter from one read transaction: records
// (with their credentials) in identifier order, then claim tickets,
// seals, agency seals, revoked tokens, audit records, relying parties,
// requests, grants, uses and receipts, each in key order. The indexes (holder, agency, class, import keys) are not
// exported: they are made from the records.
func (s *Store) Export(n int, fn func(*state.Export) error) error {
	if n <= 0 {
		n = 1
	}
	return s.db.View(func(tx *bolt.Tx) error {
		// Pruned tickets' numbers are not given again.
		x := &exporter{n: n, fn: fn, e: &state.Export{ClaimsGiven: tx.Bucket(bucketClaims).Sequence()}}
		steps := []struct {
			bucket []byte
			put    func(k, v []byte) error
		}{
			{bucketLicences, func(k, v []byte) error { return x.record(tx, k, v) }},
			{bucketClaims, x.claim},
			{bucketSeals, x.seal},
			{bucketAgencySeals, x.agencySeal},
			{bucketTokens, x.token},
			{bucketAudit, x.audit},       // audit records of the first builds
			{bucketCreds, x.auditBeside}, // and since, beside the credentials
			{bucketParties, x.party},
			{bucketRequests, x.request},
			{bucketGrants, x.grant},
			{bucketUses, x.use},
			{bucketReceipts, x.receipt},
		}
		for _, st := range steps {
			b := tx.Bucket(st.bucket)
			if b == nil {
				continue // made on first use
			}
			if err := b.ForEach(func(k, v []byte) error {
				if err := st.put(k, v); err != nil {
					return err
				}
				return x.flush(false)
			}); err != nil {
				return err
			}
		}
		return x.flush(true)
	})
}

// exporter gathers one batch of an Export.
type exporter struct {
	n  int
	fn func(*state.Export) error
	e  *state.Export
}

func (x *exporter) flush(last bool) error {
	if (x.e.Len() == 0 && x.e.ClaimsGiven == 0) || (!last && x.e.Len() < x.n) {
		return nil
	}
	e := x.e
	x.e = &state.Export{}
	return x.fn(e)
}

func (x *exporter) record(tx *bolt.Tx, k, v []byte) error {
	r := new(state.Record)
	if err := json.Unmarshal(v, r); err != nil {
		return fmt.Errorf("%w: %s: %v", state.ErrCorrupt, k, err)
	}
	if err := readEvents(tx, r); err != nil {
		return err
	}
	if err := readBlob(tx, r); err != nil {
		return err
	}
	x.e.Records = append(x.e.Records, r)
	return nil
}

func (x *exporter) claim(k, v []byte) error {
	var c state.Claim
	if len(k) != 8 {
		return fmt.Errorf("%w: claim ticket key %x", state.ErrCorrupt, k)
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return fmt.Errorf("%w: claim ticket %x: %v", state.ErrCorrupt, k, err)
	}
	c.Ticket = binary.BigEndian.Uint64(k)
	x.e.Claims = append(x.e.Claims, c)
	return nil
}

func (x *exporter) seal(k, v []byte) error {
	var r state.SealRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return fmt.Errorf("%w: seal %s: %v", state.ErrCorrupt, k, err)
	}
	x.e.Seals = append(x.e.Seals, r)
	return nil
}

func (x *exporter) agencySeal(k, v []byte) error {
	x.e.AgencySeals = append(x.e.AgencySeals, state.AgencySeal{Code: string(k), DER: bytes.Clone(v)})
	return nil
}

func (x *exporter) token(k, v []byte) error {
	if len(v) != 8 {
		return fmt.Errorf("%w: revoked token %s: expiry of %d bytes", state.ErrCorrupt, k, len(v))
	}
	x.e.Tokens = append(x.e.Tokens, state.RevokedToken{JTI: string(k), Expires: time.Unix(int64(binary.BigEndian.Uint64(v)), 0).UTC()})
	return nil
}

func (x *exporter) audit(k, v []byte) error {
	if len(k) != 8 {
		return fmt.Errorf("%w: audit record key %x", state.ErrCorrupt, k)
	}
	var m map[string]string
	if err := json.Unmarshal(v, &m); err != nil {
		return fmt.Errorf("%w: audit record %x: %v", state.ErrCorrupt, k, err)
	}
	x.e.Audits = append(x.e.Audits, state.AuditRecord{Index: binary.BigEndian.Uint64(k), Values: m})
	return nil
}

// auditBeside takes the audit records kept in the credentials bucket
// (audit.go: the ledger index and auditSuffix); the credentials there
// go with their records.
func (x *exporter) auditBeside(k, v []byte) error {
	if len(k) != 9 || k[8] != auditSuffix {
		return nil
	}
	return x.audit(k[:8], v)
}

func (x *exporter) party(k, v []byte) error {
	rp := new(state.RelyingParty)
	if err := json.Unmarshal(v, rp); err != nil {
		return fmt.Errorf("%w: relying party %s: %v", state.ErrCorrupt, k, err)
	}
	x.e.RelyingParties = append(x.e.RelyingParties, rp)
	return nil
}

func (x *exporter) request(k, v []byte) error {
	r := new(state.Request)
	if err := json.Unmarshal(v, r); err != nil {
		return fmt.Errorf("%w: request %s: %v", state.ErrCorrupt, k, err)
	}
	x.e.Requests = append(x.e.Requests, r)
	return nil
}

func (x *exporter) grant(k, v []byte) error {
	g := new(state.Grant)
	if err := json.Unmarshal(v, g); err != nil {
		return fmt.Errorf("%w: grant %s: %v", state.ErrCorrupt, k, err)
	}
	x.e.Grants = append(x.e.Grants, g)
	return nil
}

func (x *exporter) use(k, _ []byte) error {
	i := bytes.IndexByte(k, 0)
	if i < 0 || len(k) != i+9 {
		return fmt.Errorf("%w: use key %x", state.ErrCorrupt, k)
	}
	x.e.Uses = append(x.e.Uses, state.Use{Copy: string(k[:i]), Index: binary.BigEndian.Uint64(k[i+1:])})
	return nil
}

func (x *exporter) receipt(k, v []byte) error {
	if len(v) != 8 {
		return fmt.Errorf("%w: receipt %s: ledger index of %d bytes", state.ErrCorrupt, k, len(v))
	}
	x.e.Receipts = append(x.e.Receipts, state.Receipt{ID: string(k), Index: binary.BigEndian.Uint64(v)})
	return nil
}

var _ state.Exporter = (*Store)(nil)

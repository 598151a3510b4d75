package statetest

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"elicense/issuer/state"
)

// filled is what fill put in a backend.
type filled struct {
	ids             []string // in identifier order
	claim, claim2   uint64   // an issuance's ticket, and one made on its own
	pruned          uint64   // a ticket pruned: its number is not given again
	audit           uint64
	watermark, size uint64
}

// fill puts every kind of piece in f's backend: licences (one revoked,
// one with an import key, a device copy), claim tickets, a seal made and
// one revoked, an agency seal, a revoked token, audit records, a status
// snapshot and the consent pieces (fillConsents).
func fill(t *testing.T, f *fixture) filled {
	var out filled
	a := newRecord("A-1", "H1", "c1", "A")
	var err error
	// The oldest ticket, expired: pruned below.
	if out.pruned, err = f.b.PutClaim(state.Claim{LicenceID: a.ID, Expires: t0.Add(-time.Hour), Verifier: []byte("old")}); err != nil {
		t.Fatal(err)
	}
	c := &state.Claim{LicenceID: a.ID, Expires: t0.Add(time.Hour), Salt: []byte("salt"), Verifier: []byte("v1")}
	f.mustInsert(a, c)
	out.claim = c.Ticket
	b := newRecord("A-2", "H2", "c2", "A")
	b.ImportKey = "row-2"
	f.mustInsert(b, nil)
	cp := newRecord("A-1#d1", "H1", "c1", "A")
	cp.CopyOf, cp.Device = a.ID, "02ab"
	f.mustInsert(cp, nil)
	f.applyChange(state.Change{ID: b.ID, Status: state.StatusRevoked, Reason: "吊销", At: t0.Add(time.Minute)})
	if out.claim2, err = f.b.PutClaim(state.Claim{LicenceID: a.ID, Expires: t0.Add(2 * time.Hour), Salt: []byte("s2"), Verifier: []byte("v2")}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.b.PruneClaims(t0, 1); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if _, err := f.change("seals", 2, func(tx state.Tx, first uint64) error {
		if err := tx.PutSeal(state.SealRecord{ESID: "S-1", Agency: "A", HolderCode: "H1", MadeAt: t0, LedgerIndex: first}); err != nil {
			return err
		}
		return tx.RevokeSeal("S-X", t0.Add(time.Hour), "遗失", first+1)
	}); err != nil {
		t.Fatal(err)
	}
	if out.audit, err = f.change("audited", 1, func(tx state.Tx, first uint64) error {
		return tx.PutAudit(first, map[string]string{"operator": "op-1", "holder_name": "某公司"})
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.b.PutAgencySeal("A", []byte{0x30, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := f.b.RevokeToken("jti-1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	fillConsents(t, f)
	out.size = f.l.Size()
	if err := f.b.PutStatusSnapshot(out.size, []byte("lists")); err != nil {
		t.Fatal(err)
	}
	out.watermark, _ = f.b.Watermark()
	out.ids = []string{"A-1", "A-1#d1", "A-2"}
	return out
}

// exportAll reads every piece of x, in batches of n, into one Export.
func exportAll(t *testing.T, x state.Exporter, n int) *state.Export {
	t.Helper()
	all := &state.Export{}
	batches := 0
	err := x.Export(n, func(e *state.Export) error {
		batches++
		if e.Len() > n {
			t.Errorf("a batch of %d pieces, asked for at most %d", e.Len(), n)
		}
		all.Records = append(all.Records, e.Records...)
		all.Claims = append(all.Claims, e.Claims...)
		all.Seals = append(all.Seals, e.Seals...)
		all.AgencySeals = append(all.AgencySeals, e.AgencySeals...)
		all.Tokens = append(all.Tokens, e.Tokens...)
		all.Audits = append(all.Audits, e.Audits...)
		all.RelyingParties = append(all.RelyingParties, e.RelyingParties...)
		all.Requests = append(all.Requests, e.Requests...)
		all.Grants = append(all.Grants, e.Grants...)
		all.Uses = append(all.Uses, e.Uses...)
		all.Receipts = append(all.Receipts, e.Receipts...)
		all.ClaimsGiven = max(all.ClaimsGiven, e.ClaimsGiven)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (all.Len() + n - 1) / n; batches < want {
		t.Errorf("%d batches for %d pieces of at most %d", batches, all.Len(), n)
	}
	return all
}

// RunExport checks a backend's Export (state.Exporter): every piece of
// a filled backend comes out once, as the backend's reads return it.
func RunExport(t *testing.T, open Opener) {
	f := newFixture(t, open)
	defer f.close()
	x, ok := f.b.(state.Exporter)
	if !ok {
		t.Fatalf("%T is not a state.Exporter", f.b)
	}
	in := fill(t, f)
	all := exportAll(t, x, 2)
	var ids []string
	for _, r := range all.Records {
		ids = append(ids, r.ID)
		if want := f.get(r.ID); !sameRecord(r, want) {
			t.Errorf("exported %+v, Get %+v", r, want)
		}
	}
	if !reflect.DeepEqual(ids, in.ids) {
		t.Errorf("exported records %v, want %v", ids, in.ids)
	}
	checkExported(t, all, in)
	checkConsentExport(t, all)
	checkConsents(t, f, f.b)
	c, err := state.TakeCensus(x)
	if err != nil {
		t.Fatal(err)
	}
	if c.Licences[state.StatusValid] != 1 || c.Licences[state.StatusRevoked] != 1 || c.Copies[state.StatusValid] != 1 ||
		c.Claims != 2 || c.Seals != 2 || c.SealsRevoked != 1 || c.AgencySeals != 1 || c.Tokens != 1 || c.Audits != 1 ||
		c.RelyingParties != 1 || c.Requests != 2 || c.Grants != 1 || c.GrantsRevoked != 0 || c.Uses != 2 || c.Receipts != 1 {
		t.Errorf("census %+v", c)
	}
}

// checkExported checks the pieces other than records of what fill put.
func checkExported(t *testing.T, all *state.Export, in filled) {
	if len(all.Claims) != 2 || all.Claims[0].Ticket != in.claim || all.Claims[1].Ticket != in.claim2 || string(all.Claims[1].Verifier) != "v2" {
		t.Errorf("exported claims %+v, want tickets %d and %d", all.Claims, in.claim, in.claim2)
	}
	if all.ClaimsGiven < in.claim2 {
		t.Errorf("claims given %d, below ticket %d", all.ClaimsGiven, in.claim2)
	}
	if len(all.Seals) != 2 || all.Seals[0].ESID != "S-1" || all.Seals[1].Reason != "遗失" {
		t.Errorf("exported seals %+v", all.Seals)
	}
	if len(all.AgencySeals) != 1 || !bytes.Equal(all.AgencySeals[0].DER, []byte{0x30, 1, 2}) {
		t.Errorf("exported agency seals %+v", all.AgencySeals)
	}
	if len(all.Tokens) != 1 || all.Tokens[0].JTI != "jti-1" || !all.Tokens[0].Expires.Equal(t0.Add(time.Hour)) {
		t.Errorf("exported tokens %+v", all.Tokens)
	}
	if len(all.Audits) != 1 || all.Audits[0].Index != in.audit || all.Audits[0].Values["holder_name"] != "某公司" {
		t.Errorf("exported audit records %+v", all.Audits)
	}
}

// sameRecord compares what a copy must keep of a record.
func sameRecord(a, b *state.Record) bool {
	return a.ID == b.ID && a.Status == b.Status && a.Reason == b.Reason && a.LedgerIndex == b.LedgerIndex &&
		a.LastEvent == b.LastEvent && a.Credential == b.Credential && a.CredentialHash == b.CredentialHash &&
		a.StatusList == b.StatusList && a.StatusIndex == b.StatusIndex && a.ImportKey == b.ImportKey &&
		a.CopyOf == b.CopyOf && a.Device == b.Device && reflect.DeepEqual(a.Copies, b.Copies) &&
		a.Unbound == b.Unbound && a.UpdatedAt.Equal(b.UpdatedAt) && a.IssuedAt.Equal(b.IssuedAt) &&
		reflect.DeepEqual(a.Fields, b.Fields) && reflect.DeepEqual(a.Holding, b.Holding) && bytes.Equal(a.QR, b.QR)
}

// RunImport moves a filled backend opened by from into an empty one
// opened by to (a state.Importer), in small batches, twice (the second
// run replaces what the first wrote), and checks the copy: the same
// census, every record as Get returns it, the indexes, claim tickets
// usable under their numbers (and new numbers above them and above
// pruned ones), seals, the agency seal, the token, the audit record, and
// the serial counter moved.
func RunImport(t *testing.T, from, to Opener) {
	f := newFixture(t, from)
	defer f.close()
	in := fill(t, f)
	src := f.b.(state.Exporter)
	target := to(t, t.TempDir())
	defer target.Close()
	dst, ok := target.(state.Importer)
	if !ok {
		t.Fatalf("%T is not a state.Importer", target)
	}
	for range 2 {
		if err := src.Export(2, dst.Import); err != nil {
			t.Fatal(err)
		}
	}
	a, err := state.TakeCensus(src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := state.TakeCensus(dst)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("census of the copy %+v, of the source %+v", b, a)
	}
	checkImported(t, f, dst, in)
	if w, _ := dst.Watermark(); w != 0 {
		t.Errorf("Import moved the watermark to %d", w)
	}
	if sh, ok := dst.(state.Shared); ok {
		checkSerials(t, dst, sh)
	}
}

// checkImported reads every piece fill put back from the copy dst.
func checkImported(t *testing.T, f *fixture, dst state.Importer, in filled) {
	for _, id := range in.ids {
		got, err := dst.Get(id)
		if err != nil || !sameRecord(got, f.get(id)) {
			t.Errorf("%s in the copy: %+v %v, want %+v", id, got, err, f.get(id))
		}
	}
	if r, err := dst.ByImportKey("A", "row-2"); err != nil || r.ID != "A-2" {
		t.Errorf("import key in the copy: %v %v", r, err)
	}
	if rs, _, err := dst.Search(state.Query{HolderCode: "H1"}); err != nil || len(rs) != 1 || rs[0].ID != "A-1" {
		t.Errorf("holder search in the copy: %v %v", ids(rs), err)
	}
	if c, err := dst.UseClaim(in.claim, func(c state.Claim) bool { return string(c.Verifier) == "v1" }); err != nil || c.LicenceID != "A-1" {
		t.Errorf("claim ticket %d in the copy: %+v %v", in.claim, c, err)
	}
	if _, err := dst.UseClaim(in.pruned, func(state.Claim) bool { return true }); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("pruned ticket %d in the copy: %v", in.pruned, err)
	}
	if n, err := dst.PutClaim(state.Claim{LicenceID: "A-1", Expires: t0}); err != nil || n <= in.claim2 {
		t.Errorf("a new ticket in the copy: %d %v, want above %d", n, err, in.claim2)
	}
	if rs, err := dst.RevokedSeals(); err != nil || len(rs) != 1 || rs[0].ESID != "S-X" {
		t.Errorf("revoked seals in the copy: %+v %v", rs, err)
	}
	if s, err := dst.Seal("S-1"); err != nil || s.Agency != "A" || s.HolderCode != "H1" || !s.MadeAt.Equal(t0) {
		t.Errorf("seal in the copy: %+v %v", s, err)
	}
	if der, err := dst.AgencySeal("A"); err != nil || !bytes.Equal(der, []byte{0x30, 1, 2}) {
		t.Errorf("agency seal in the copy: %x %v", der, err)
	}
	if ok, err := dst.TokenRevoked("jti-1"); err != nil || !ok {
		t.Errorf("revoked token in the copy: %v %v", ok, err)
	}
	if a, err := dst.Audit(in.audit); err != nil || a["operator"] != "op-1" {
		t.Errorf("audit record in the copy: %v %v", a, err)
	}
	checkConsents(t, f, dst)
}

// checkSerials: AdvanceSerials moves the counter forward to the value
// asked for, modulo the range.
func checkSerials(t *testing.T, im state.Importer, sh state.Shared) {
	if err := im.AdvanceSerials(1000); err != nil {
		t.Fatal(err)
	}
	if v, err := sh.ReserveSerials(10); err != nil || v != 1000 {
		t.Errorf("after AdvanceSerials(1000), reserved from %d (%v)", v, err)
	}
	if err := im.AdvanceSerials(5); err != nil { // forward, through the wrap
		t.Fatal(err)
	}
	if v, err := sh.ReserveSerials(1); err != nil || v != 5 {
		t.Errorf("after AdvanceSerials(5), reserved %d (%v)", v, err)
	}
}

package service

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/certs/ledgerevent"
	"elicense/certs/trust"
	"elicense/internal/gm"

	"elicense/issuer/pki"
	"elicense/issuer/state"
)

var admin = Operator{Subject: "admin", Role: RoleAdmin}

// openKeyEnv is openEnv on a copy of the test PKI (key changes write to
// it), with the passphrase and a clock the test moves.
func openKeyEnv(t *testing.T, clock *atomic.Pointer[time.Time]) *env {
	return openKeyEnvWith(t, clock, nil)
}

func openKeyEnvWith(t *testing.T, clock *atomic.Pointer[time.Time], opt func(*Options)) *env {
	t.Helper()
	testPKI(t)
	dir := filepath.Join(t.TempDir(), "pki")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(pkiDir, "pki"))); err != nil {
		t.Fatal(err)
	}
	p, err := pki.Load(dir, []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	e := openEnvWith(t, t.TempDir(), func(o *Options) {
		o.PKI, o.Passphrase = p, []byte("test")
		if clock != nil {
			o.Now = func() time.Time { return *clock.Load() }
		}
		if opt != nil {
			opt(o)
		}
	})
	e.pki = p
	return e
}

// keysOf is what a counter makes of the trust bundle of p: every agency
// key with its state.
func keysOf(p *pki.PKI) credential.KeySet {
	ks := credential.KeySet{}
	for _, a := range p.Agencies {
		ks[a.KeyID] = []credential.IssuerKey{{Public: a.Cert.PublicKey.(*ecdsa.PublicKey), AgencyCode: a.Code, Classes: a.Classes}}
		for _, pk := range a.Previous {
			k := credential.IssuerKey{Public: pk.Cert.PublicKey.(*ecdsa.PublicKey), AgencyCode: a.Code, Classes: a.Classes}
			if pk.State == pki.KeyRetired {
				k.RetiredSince = pk.Since
			} else {
				k.CompromisedSince = pk.Since
			}
			ks[pk.KeyID] = []credential.IssuerKey{k}
		}
	}
	return ks
}

func kidOf(r *state.Record) string { return hex.EncodeToString(r.Holding.KeyID) }

// slowLedger holds every issuance a while between its signing and its
// ledger append, so that a rotation finds some in flight.
type slowLedger struct{ Ledger }

func (l slowLedger) AppendWith(ctx context.Context, es [][]byte, fn func(tx state.Tx, first uint64) error) (uint64, error) {
	if ev, err := ledgerevent.Decode(es[0]); err == nil && ev.Kind() == ledgerevent.KindIssue {
		time.Sleep(20 * time.Millisecond)
	}
	return l.Ledger.AppendWith(ctx, es, fn)
}

// eventAt decodes ledger entry i.
func eventAt(t *testing.T, l Ledger, i uint64) ledgerevent.Event {
	t.Helper()
	raw, err := l.Entry(i)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ledgerevent.Decode(raw)
	if err != nil {
		t.Fatalf("entry %d: %v", i, err)
	}
	return ev
}

// TestRotateKeyDuringIssuance rotates an agency's key while eight clients
// issue, each issuance held a while between its signing and its ledger
// append: every licence verifies under the key the new PKI says was active
// when it was signed, both keys signed some, the ledger records the key
// event after every issuance of the old key and before every one of the
// new, and the directory on disk says what the running service does.
func TestRotateKeyDuringIssuance(t *testing.T) {
	e := openKeyEnvWith(t, nil, func(o *Options) { o.Ledger = slowLedger{o.Ledger} })
	defer e.close(t)
	op := operatorFor(t, e.pki, "business-license")
	oldKID, _ := e.pki.Agency(op.Agency)
	ch, recs := rotateWhileIssuing(t, e, op)
	if ch.Old.KID != oldKID.KeyID || ch.Old.State != KeyRetired || ch.New == nil || ch.New.State != KeyActive || ch.New.KID == ch.Old.KID {
		t.Fatalf("change: %+v", ch)
	}
	p := e.svc.PKI()
	if a, _ := p.Agency(op.Agency); a.KeyID != ch.New.KID {
		t.Fatalf("the service signs with %s, want %s", a.KeyID, ch.New.KID)
	}
	byID := verifyBothKeysSigned(t, p, ch, recs)
	checkRotationInLedger(t, e, ch, op.Agency, byID)
	disk, err := pki.Load(p.Dir, []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := disk.Agency(op.Agency)
	if a.KeyID != ch.New.KID || len(a.Previous) != 1 || a.Previous[0].KeyID != ch.Old.KID || a.Previous[0].State != pki.KeyRetired || !a.Previous[0].Since.Equal(ch.Old.Since) {
		t.Fatalf("on disk: key %s, previous %+v", a.KeyID, a.Previous)
	}
	// The licence face carries a seal made with the new key.
	if esid, _, _, ok := e.svc.AgencySeal(op.Agency); !ok || esid == "" {
		t.Fatal("no licence-face seal after the rotation")
	}
}

// rotateWhileIssuing rotates op's agency's key while eight clients issue,
// and returns the change and every licence issued.
func rotateWhileIssuing(t *testing.T, e *env, op Operator) (*KeyChange, []*Issued) {
	var (
		mu     sync.Mutex
		recs   []*Issued
		failed error
		wg     sync.WaitGroup
		done   = make(chan struct{})
	)
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				r, err := e.svc.Issue(context.Background(), op, IssueRequest{Class: "business-license", Fields: samples(t)["business-license"]})
				mu.Lock()
				recs, failed = append(recs, r), errors.Join(failed, err)
				mu.Unlock()
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	ch, err := e.svc.RotateKey(context.Background(), admin, op.Agency, RotateRequest{})
	time.Sleep(50 * time.Millisecond)
	close(done)
	wg.Wait()
	if err != nil || failed != nil {
		t.Fatalf("rotate: %v; issuances: %v", err, failed)
	}
	return ch, recs
}

// verifyBothKeysSigned: every licence verifies under the keys of p, and
// both the old and the new key signed some. It returns the licences by ID.
func verifyBothKeysSigned(t *testing.T, p *pki.PKI, ch *KeyChange, recs []*Issued) map[string]*state.Record {
	keys := keysOf(p)
	signers := map[string]int{}
	byID := map[string]*state.Record{}
	for _, r := range recs {
		if _, err := credential.Verify(r.Credential, credential.VerifyOptions{Keys: keys}); err != nil {
			t.Fatalf("%s, signed by %s: %v", r.ID, kidOf(r.Record), err)
		}
		signers[kidOf(r.Record)]++
		byID[r.ID] = r.Record
	}
	if signers[ch.Old.KID] == 0 || signers[ch.New.KID] == 0 {
		t.Fatalf("licences by key: %v", signers)
	}
	return byID
}

// checkRotationInLedger: the ledger has the old key's issuances, the key
// event, the new key's.
func checkRotationInLedger(t *testing.T, e *env, ch *KeyChange, agency string, byID map[string]*state.Record) {
	if ev, ok := eventAt(t, e.ledger, ch.LedgerIndex).(*ledgerevent.KeyRotated); !ok || ev.KeyID != ch.New.KID || ev.Previous != ch.Old.KID || ev.Agency != agency {
		t.Fatalf("ledger entry %d: %+v", ch.LedgerIndex, ev)
	}
	for i := range e.ledger.Size() {
		le, ok := eventAt(t, e.ledger, i).(*ledgerevent.Issue)
		if !ok {
			continue
		}
		if want := map[bool]string{true: ch.Old.KID, false: ch.New.KID}[i < ch.LedgerIndex]; kidOf(byID[le.ID]) != want {
			t.Fatalf("ledger entry %d issues a licence signed by %s, want %s", i, kidOf(byID[le.ID]), want)
		}
	}
}

// TestCompromiseKey: a previous key's compromise builds its genuine set
// from the records, may be tightened to an earlier time but not loosened,
// and compromising the active key rotates it out first.
func TestCompromiseKey(t *testing.T) {
	c := &compromiseRun{ctx: context.Background(), t0: time.Now().Truncate(time.Second)}
	c.set(0)
	c.e = openKeyEnv(t, &c.clock)
	defer c.e.close(t)
	c.issueAndRotate(t)
	c.compromiseRetired(t)
	c.tightenOnly(t)
	c.compromiseActive(t)
}

// compromiseRun is the state TestCompromiseKey carries from step to
// step; the steps run in the order the test calls them.
type compromiseRun struct {
	clock atomic.Pointer[time.Time]
	t0    time.Time
	e     *env
	ctx   context.Context
	op    Operator

	first, second *state.Record // signed by the old key, a minute apart
	third         *state.Record // signed by the new key
	rot           *KeyChange
	old           string // the old key's ID
}

// set moves the clock to t0+d.
func (c *compromiseRun) set(d time.Duration) { ct := c.t0.Add(d); c.clock.Store(&ct) }

// issueAndRotate issues two licences with the agency's key, rotates it
// and issues a third with the new key.
func (c *compromiseRun) issueAndRotate(t *testing.T) {
	e := c.e
	c.first, c.op = issueOne(t, e, "business-license")
	c.set(time.Minute)
	c.second, _ = issueOne(t, e, "business-license")
	c.set(2 * time.Minute)
	rot, err := e.svc.RotateKey(c.ctx, admin, c.op.Agency, RotateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c.rot = rot
	c.set(3 * time.Minute)
	c.third, _ = issueOne(t, e, "business-license") // the new key
	c.old = rot.Old.KID
}

// compromiseRetired compromises the retired key between the first and
// the second licence.
func (c *compromiseRun) compromiseRetired(t *testing.T) {
	e, op, old, t0 := c.e, c.op, c.old, c.t0
	first, second, third := c.first, c.second, c.third
	ch, err := e.svc.CompromiseKey(c.ctx, admin, op.Agency, old, t0.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if ch.New != nil || ch.Old.KID != old || ch.Old.State != KeyCompromised || ch.Old.Genuine == nil || ch.Old.Genuine.Count != 1 {
		t.Fatalf("change: %+v", ch)
	}
	a, _ := e.svc.PKI().Agency(op.Agency)
	pk := a.Previous[0]
	doc, err := os.ReadFile(pk.GenuinePath)
	if err != nil {
		t.Fatal(err)
	}
	g, err := trust.ParseGenuineSet(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !g.HasQRCore(first.StatusList, first.StatusIndex, first.Holding.Core) || g.HasQRCore(second.StatusList, second.StatusIndex, second.Holding.Core) {
		t.Fatal("the genuine set does not hold exactly the licence signed before the compromise")
	}
	if ev, ok := eventAt(t, e.ledger, ch.LedgerIndex).(*ledgerevent.KeyCompromised); !ok || ev.KeyID != old || ev.Genuine != ledgerevent.Digest(gm.SM3(doc)) {
		t.Fatalf("ledger entry: %+v", ev)
	}
	keys := keysOf(e.svc.PKI())
	for name, r := range map[string]*state.Record{"before": first, "after": second} {
		if _, err := credential.Verify(r.Credential, credential.VerifyOptions{Keys: keys}); (err == nil) != (name == "before") {
			t.Errorf("licence signed %s the compromise: %v", name, err)
		}
	}
	if _, err := credential.Verify(third.Credential, credential.VerifyOptions{Keys: keys}); err != nil {
		t.Errorf("licence of the new key: %v", err)
	}
}

// tightenOnly: the same or a later time would accept what counters now
// refuse; an earlier one tightens the set.
func (c *compromiseRun) tightenOnly(t *testing.T) {
	e, op, old, t0 := c.e, c.op, c.old, c.t0
	for _, d := range []time.Duration{30 * time.Second, time.Minute} {
		if _, err := e.svc.CompromiseKey(c.ctx, admin, op.Agency, old, t0.Add(d)); !errors.Is(err, ErrConflict) {
			t.Fatalf("compromise again at +%v: %v", d, err)
		}
	}
	// An earlier one tightens the set.
	if ch, err := e.svc.CompromiseKey(c.ctx, admin, op.Agency, old, t0.Add(-time.Second)); err != nil || ch.Old.Genuine.Count != 0 {
		t.Fatalf("tightened: %+v, %v", ch, err)
	}
}

// compromiseActive: the active key is rotated out as compromised.
func (c *compromiseRun) compromiseActive(t *testing.T) {
	e, op, t0 := c.e, c.op, c.t0
	active := c.rot.New.KID
	ch, err := e.svc.CompromiseKey(c.ctx, admin, op.Agency, active, t0.Add(150*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if ch.New == nil || ch.Old.KID != active || ch.Old.State != KeyCompromised || ch.Old.Genuine == nil || ch.Old.Genuine.Count != 0 {
		t.Fatalf("active key compromised: %+v", ch)
	}
	disk, err := pki.Load(e.svc.PKI().Dir, []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := disk.Agency(op.Agency)
	if a.KeyID != ch.New.KID || len(a.Previous) != 2 || a.Previous[0].Since.Unix() != t0.Add(-time.Second).Unix() || a.Previous[1].State != pki.KeyCompromised {
		t.Fatalf("on disk: key %s, previous %+v %+v", a.KeyID, a.Previous[0], a.Previous[1])
	}
}

// TestKeyChangeRefused: every refusal has its kind and field, and
// changes nothing.
func TestKeyChangeRefused(t *testing.T) {
	e := openKeyEnv(t, nil)
	defer e.close(t)
	ctx := context.Background()
	op := operatorFor(t, e.pki, "business-license")
	ag, _ := e.pki.Agency(op.Agency)
	rot, err := e.svc.RotateKey(ctx, admin, ag.Code, RotateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	noPass := openEnvWith(t, t.TempDir(), nil)
	defer noPass.close(t)
	for _, tc := range []struct {
		name  string
		do    func() error
		kind  error
		field string
	}{
		{"operator rotates", func() error { _, err := e.svc.RotateKey(ctx, op, ag.Code, RotateRequest{}); return err }, ErrForbidden, ""},
		{"auditor compromises", func() error {
			_, err := e.svc.CompromiseKey(ctx, Operator{Subject: "a", Role: RoleAuditor, Agency: ag.Code}, ag.Code, rot.Old.KID, now)
			return err
		}, ErrForbidden, ""},
		{"unknown agency", func() error { _, err := e.svc.RotateKey(ctx, admin, "91310000MA1FL0000X", RotateRequest{}); return err }, ErrNotFound, "agency"},
		{"unknown key", func() error { _, err := e.svc.CompromiseKey(ctx, admin, ag.Code, "0011223344556677", now); return err }, ErrNotFound, "kid"},
		{"another agency's key", func() error {
			other := operatorFor(t, e.pki, "drivers-license")
			ok, _ := e.pki.Agency(other.Agency)
			_, err := e.svc.CompromiseKey(ctx, admin, ag.Code, ok.KeyID, now)
			return err
		}, ErrNotFound, "kid"},
		{"no time", func() error { _, err := e.svc.CompromiseKey(ctx, admin, ag.Code, rot.Old.KID, time.Time{}); return err }, ErrInvalid, "since"},
		{"future", func() error {
			_, err := e.svc.CompromiseKey(ctx, admin, ag.Code, rot.Old.KID, now.Add(time.Hour))
			return err
		}, ErrInvalid, "since"},
		{"before the certificate", func() error {
			_, err := e.svc.CompromiseKey(ctx, admin, ag.Code, rot.Old.KID, ag.Cert.NotBefore.Add(-time.Hour))
			return err
		}, ErrInvalid, "since"},
		{"rotate compromised in the future", func() error {
			_, err := e.svc.RotateKey(ctx, admin, ag.Code, RotateRequest{CompromisedSince: now.Add(time.Hour)})
			return err
		}, ErrInvalid, "compromised_since"},
		{"no passphrase", func() error { _, err := noPass.svc.RotateKey(ctx, admin, ag.Code, RotateRequest{}); return err }, ErrUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			var se *Error
			if !errors.Is(err, tc.kind) || !errors.As(err, &se) || se.Field != tc.field {
				t.Fatalf("got %v, want %v field %q", err, tc.kind, tc.field)
			}
		})
	}
	if a, _ := e.svc.PKI().Agency(ag.Code); a.KeyID != rot.New.KID || len(a.Previous) != 1 || a.Previous[0].State != pki.KeyRetired {
		t.Fatalf("a refusal changed the keys: %s %+v", a.KeyID, a.Previous)
	}
}

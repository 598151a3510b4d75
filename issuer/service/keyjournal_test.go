package service

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"elicense/certs/ledgerevent"
	"elicense/issuer/pki"
	"elicense/issuer/state"
)

// keyFailLedger refuses to append key events while fail is set, as a
// ledger that fails (or a crash) between a key change and its event.
type keyFailLedger struct {
	Ledger
	fail *atomic.Bool
}

func (l keyFailLedger) AppendWith(ctx context.Context, es [][]byte, fn func(tx state.Tx, first uint64) error) (uint64, error) {
	if ev, err := ledgerevent.Decode(es[0]); err == nil && l.fail.Load() &&
		(ev.Kind() == ledgerevent.KindKeyRotated || ev.Kind() == ledgerevent.KindKeyCompromised) {
		return 0, errors.New("the ledger refuses")
	}
	return l.Ledger.AppendWith(ctx, es, fn)
}

// restart makes a new service on e's data and a freshly loaded PKI, and
// recovers it, as the next start of the server does.
func (e *env) restart(t *testing.T) *Service {
	t.Helper()
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := pki.Load(e.pki.Dir, []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{PKI: p, Store: e.store, Ledger: e.ledger, Status: e.status, Audit: testAudit(t), Passphrase: []byte("test")})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return svc
}

// TestKeyChangeJournal: a rotation whose ledger event fails is answered
// unavailable, but the PKI and the running service have changed; the
// journal keeps the event, and the next start records it once. A journal
// naming a change the PKI does not show is dropped.
func TestKeyChangeJournal(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	e := openKeyEnvWith(t, nil, func(o *Options) { o.Ledger = keyFailLedger{o.Ledger, &fail} })
	defer e.close(t)
	op := operatorFor(t, e.pki, "business-license")
	oldAg, _ := e.pki.Agency(op.Agency)
	oldKID := oldAg.KeyID
	before := e.ledger.Size()
	_, err := e.svc.RotateKey(context.Background(), admin, op.Agency, RotateRequest{})
	var se *Error
	if !errors.As(err, &se) || se.Kind != ErrUnavailable {
		t.Fatalf("rotation with a failing ledger: %v", err)
	}
	ag, _ := e.svc.PKI().Agency(op.Agency)
	if ag.KeyID == oldKID {
		t.Fatal("the key did not change")
	}
	journal := filepath.Join(e.pki.Dir, keyJournalFile)
	if _, err := os.Stat(journal); err != nil {
		t.Fatalf("no journal after the failed append: %v", err)
	}
	if e.ledger.Size() != before {
		t.Fatal("the key event was appended although the ledger refused it")
	}

	fail.Store(false)
	e.restart(t)
	if _, err := os.Stat(journal); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("journal left after recovery: %v", err)
	}
	if e.ledger.Size() != before+1 {
		t.Fatalf("ledger holds %d entries after recovery, want %d", e.ledger.Size(), before+1)
	}
	if ev, ok := eventAt(t, e.ledger, before).(*ledgerevent.KeyRotated); !ok || ev.KeyID != ag.KeyID || ev.Agency != op.Agency {
		t.Fatalf("recovered entry: %+v", ev)
	}
	// Once recorded, a second start records nothing again.
	e.restart(t)
	if e.ledger.Size() != before+1 {
		t.Fatalf("the key event was recorded twice (%d entries)", e.ledger.Size())
	}

	// A journal whose change the PKI does not show: dropped, nothing appended.
	es := events{{e.svc.audit.KeyRotated(ledgerevent.KeyRotated{Time: e.svc.now(), Agency: op.Agency, KeyID: "0011223344556677", Previous: ag.KeyID}, admin.Subject), opAudit(admin)}}
	if err := e.svc.writeKeyJournal(op.Agency, "0011223344556677", true, es); err != nil {
		t.Fatal(err)
	}
	e.restart(t)
	if _, err := os.Stat(journal); !errors.Is(err, os.ErrNotExist) || e.ledger.Size() != before+1 {
		t.Fatalf("a journal of a change that never happened: %v, %d entries", err, e.ledger.Size())
	}

	// A damaged journal stops the start with a message naming it.
	os.WriteFile(journal, []byte("{"), 0o600)
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	p, _ := pki.Load(e.pki.Dir, []byte("test"))
	svc, err := New(Options{PKI: p, Store: e.store, Ledger: e.ledger, Status: e.status, Audit: testAudit(t), Passphrase: []byte("test")})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err == nil {
		t.Fatal("a damaged journal was ignored")
	}
	e.svc = svc
	os.Remove(journal)
}

package service

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/certs/credential"
	"elicense/certs/ident/identtest"
	"elicense/certs/ledgerevent"
	"elicense/certs/qr"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/runtimecfg"
	"elicense/issuer/pki"
	"elicense/issuer/state"
	"elicense/issuer/state/statetest"
)

// memStatus is a StatusLists for tests: one list per agency, sequential
// positions.
type memStatus struct {
	mu   sync.Mutex
	next map[string]uint64
	set  map[string]state.Status
}

func (m *memStatus) Allocate(agency string) (string, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.next == nil {
		m.next = map[string]uint64{}
	}
	i := m.next[agency]
	m.next[agency]++
	return "l" + agency[len(agency)-4:], i, nil
}
func (m *memStatus) Set(list string, i uint64, s state.Status) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.set == nil {
		m.set = map[string]state.Status{}
	}
	m.set[fmt.Sprint(list, i)] = s
	return nil
}
func (m *memStatus) Release(string, uint64) {}
func (m *memStatus) URI(list string) string { return "http://127.0.0.1/v1/status/" + list }

type env struct {
	dir    string
	pki    *pki.PKI
	data   *Data
	store  state.Store
	ledger *ledger.Log[state.Tx]
	status *memStatus
	svc    *Service
}

var (
	pkiOnce sync.Once
	pkiDir  string
	pkiErr  error
)

// testPKI makes one dev PKI per test binary (key generation and
// encryption dominate otherwise).
func testPKI(t testing.TB) *pki.PKI {
	pkiOnce.Do(func() {
		pkiDir, pkiErr = os.MkdirTemp("", "elicense-pki-")
		if pkiErr != nil {
			return
		}
		_, pkiErr = pki.Init(pki.InitOptions{Dir: filepath.Join(pkiDir, "pki"), Passphrase: []byte("test"),
			Agencies: pki.DefaultAgencies(), KeyEncryption: &gm.KeyEncryption{Iterations: 1000}})
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	p, err := pki.Load(filepath.Join(pkiDir, "pki"), []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMain(m *testing.M) {
	// The server's runtime settings, so the benchmarks measure what
	// serve runs (and name themselves -4 on 2 cores).
	runtimecfg.Apply(runtimecfg.Settings{LookupEnv: os.LookupEnv})
	code := m.Run()
	if pkiDir != "" {
		os.RemoveAll(pkiDir)
	}
	os.Exit(code)
}

func openEnv(t testing.TB, dir string) *env { return openEnvWith(t, dir, nil) }

// openData opens the ledger and state kept under dir, in the backend
// ELICENSE_TEST_STORE selects (statetest).
func openData(t testing.TB, dir string, signer crypto.Signer) (*Data, error) {
	t.Helper()
	b := statetest.Open(t, dir)
	d, err := OpenData(b, ledger.Options{Origin: "test.elicense/ledger", Signer: signer})
	if err != nil {
		b.Close()
	}
	return d, err
}

// openEnvWith is openEnv with the service's options changed by opt.
func openEnvWith(t testing.TB, dir string, opt func(*Options)) *env {
	t.Helper()
	e := &env{dir: dir, pki: testPKI(t), status: &memStatus{}}
	var err error
	if e.data, err = openData(t, dir, e.pki.Ledger.Signer); err != nil {
		t.Fatal(err)
	}
	e.store, e.ledger = e.data.Store, e.data.Ledger
	o := Options{PKI: e.pki, Store: e.store, Ledger: e.ledger, Status: e.status, Audit: testAudit(t)}
	if opt != nil {
		opt(&o)
	}
	if e.svc, err = New(o); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) close(t testing.TB) {
	if err := e.svc.Close(); err != nil {
		t.Error(err)
	}
	e.data.Close()
}

func samples(t testing.TB) map[string]map[string]string {
	data, err := os.ReadFile("../../certs/catalog/testdata/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Samples map[string]map[string]string `json:"samples"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Samples
}

func operatorFor(t testing.TB, p *pki.PKI, class string) Operator {
	ag, ok := p.AgencyForClass(class)
	if !ok {
		t.Fatalf("no agency for %s", class)
	}
	return Operator{Subject: "op@" + ag.Code, Role: RoleOperator, Agency: ag.Code}
}

func TestIssueEveryClassAndVerify(t *testing.T) {
	e := openEnv(t, t.TempDir())
	defer e.close(t)
	ctx := context.Background()
	keys := credential.KeySet{}
	for _, ag := range e.pki.Agencies {
		keys[ag.KeyID] = []credential.IssuerKey{{Public: ag.Cert.PublicKey.(*ecdsa.PublicKey), AgencyCode: ag.Code, Classes: ag.Classes}}
	}
	for class, fields := range samples(t) {
		op := operatorFor(t, e.pki, class)
		rec, err := e.svc.Issue(ctx, op, IssueRequest{Class: class, Fields: fields})
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		l, err := credential.Verify(rec.Credential, credential.VerifyOptions{Keys: keys, Now: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatalf("%s: credential does not verify: %v", class, err)
		}
		if l.ID != rec.ID {
			t.Fatalf("%s: record %s, credential %s", class, rec.ID, l.ID)
		}
		if sum := gm.SM3([]byte(rec.Credential)); rec.CredentialHash != hex.EncodeToString(sum[:]) {
			t.Fatalf("%s: credential hash %s is not the SM3 of the credential", class, rec.CredentialHash)
		}
		text, err := rec.Holding.Static()
		if err != nil {
			t.Fatal(err)
		}
		tok, err := qr.Decode(text)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tok.Verify(qr.VerifyOptions{Keys: keys, Now: time.Now().Add(time.Hour)}); err != nil {
			t.Fatalf("%s: static QR does not verify: %v", class, err)
		}
	}
	if got := e.ledger.Size(); got != uint64(len(samples(t))) {
		t.Fatalf("ledger has %d entries, want %d", got, len(samples(t)))
	}
}

func issueOne(t *testing.T, e *env, class string) (*state.Record, Operator) {
	t.Helper()
	op := operatorFor(t, e.pki, class)
	rec, err := e.svc.Issue(context.Background(), op, IssueRequest{Class: class, Fields: samples(t)[class]})
	if err != nil {
		t.Fatal(err)
	}
	return rec.Record, op
}

func TestStatusChanges(t *testing.T) {
	e := openEnv(t, t.TempDir())
	defer e.close(t)
	ctx := context.Background()
	rec, op := issueOne(t, e, "business-license")
	steps := []struct {
		action Action
		reason string
		want   state.Status
		err    error
	}{
		{ActionReinstate, "", "", ErrConflict},
		{ActionSuspend, "", "", ErrInvalid},
		{ActionSuspend, "核查", state.StatusSuspended, nil},
		{ActionSuspend, "核查", "", ErrConflict},
		{ActionReinstate, "", state.StatusValid, nil},
		{ActionRevoke, "不喜欢", "", ErrInvalid},
		{ActionRevoke, "吊销", state.StatusRevoked, nil},
		{ActionReinstate, "", "", ErrConflict},
		{"delete", "", "", ErrInvalid},
	}
	for i, st := range steps {
		r, err := e.svc.ChangeStatus(ctx, op, rec.ID, st.action, st.reason)
		if st.err != nil {
			if !errors.Is(err, st.err) {
				t.Fatalf("step %d %s: got %v, want %v", i, st.action, err, st.err)
			}
			continue
		}
		if err != nil || r.Status != st.want {
			t.Fatalf("step %d %s: %v, status %v", i, st.action, err, r)
		}
		if got := e.status.set[fmt.Sprint(rec.StatusList, rec.StatusIndex)]; got != st.want {
			t.Fatalf("step %d: status list says %q, want %q", i, got, st.want)
		}
	}
	got, _ := e.svc.Get(op, rec.ID)
	if got.Status != state.StatusRevoked || got.Reason != "吊销" {
		t.Fatalf("stored %v %v", got.Status, got.Reason)
	}
	if n := e.ledger.Size(); n != 4 {
		t.Fatalf("ledger size %d, want 4 (issue + 3 changes)", n)
	}
}

func TestReissue(t *testing.T) {
	e := openEnv(t, t.TempDir())
	defer e.close(t)
	rec, op := issueOne(t, e, "business-license")
	nrec, err := e.svc.Reissue(context.Background(), op, rec.ID, ReissueRequest{Fields: map[string]string{"legal_rep": "李四"}})
	if err != nil {
		t.Fatal(err)
	}
	if nrec.Supersedes != rec.ID || nrec.Fields["legal_rep"] != "李四" || nrec.ID[len(nrec.ID)-5:len(nrec.ID)-2] != "002" {
		t.Fatalf("new record %+v", nrec)
	}
	old, _ := e.svc.Get(op, rec.ID)
	if old.Status != state.StatusSuperseded || old.SupersededBy != nrec.ID {
		t.Fatalf("old record %v superseded by %q", old.Status, old.SupersededBy)
	}
	if _, err := e.svc.Reissue(context.Background(), op, rec.ID, ReissueRequest{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("re-issuing a superseded licence: %v", err)
	}
	if _, err := e.svc.Reissue(context.Background(), op, nrec.ID, ReissueRequest{Fields: map[string]string{"uscc": "123"}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("re-issue with a bad field: %v", err)
	}
}

func TestScope(t *testing.T) {
	e := openEnv(t, t.TempDir())
	defer e.close(t)
	ctx := context.Background()
	rec, own := issueOne(t, e, "business-license")
	other := operatorFor(t, e.pki, "drivers-license")
	fields := samples(t)["business-license"]
	tests := []struct {
		name string
		op   Operator
		do   func(op Operator) error
		want error
	}{
		{"operator own class", own, func(op Operator) error {
			_, err := e.svc.Issue(ctx, op, IssueRequest{Class: "business-license", Fields: fields})
			return err
		}, nil},
		{"operator limited to other classes", Operator{Subject: "x", Role: RoleOperator, Agency: own.Agency, Classes: []string{"food-operation-permit"}}, func(op Operator) error {
			_, err := e.svc.Issue(ctx, op, IssueRequest{Class: "business-license", Fields: fields})
			return err
		}, ErrForbidden},
		{"operator of another agency issues", other, func(op Operator) error {
			_, err := e.svc.Issue(ctx, op, IssueRequest{Class: "business-license", Agency: own.Agency, Fields: fields})
			return err
		}, ErrForbidden},
		{"agency not certified for class", own, func(op Operator) error {
			_, err := e.svc.Issue(ctx, op, IssueRequest{Class: "drivers-license", Fields: samples(t)["drivers-license"]})
			return err
		}, ErrForbidden},
		{"auditor issues", Operator{Subject: "a", Role: RoleAuditor, Agency: own.Agency}, func(op Operator) error {
			_, err := e.svc.Issue(ctx, op, IssueRequest{Class: "business-license", Fields: fields})
			return err
		}, ErrForbidden},
		{"auditor reads", Operator{Subject: "a", Role: RoleAuditor, Agency: own.Agency}, func(op Operator) error {
			_, err := e.svc.Get(op, rec.ID)
			return err
		}, nil},
		{"other agency reads", other, func(op Operator) error {
			_, err := e.svc.Get(op, rec.ID)
			return err
		}, ErrNotFound},
		{"other agency revokes", other, func(op Operator) error {
			_, err := e.svc.ChangeStatus(ctx, op, rec.ID, ActionRevoke, "吊销")
			return err
		}, ErrNotFound},
		{"admin issues for any agency", Operator{Subject: "root", Role: RoleAdmin}, func(op Operator) error {
			_, err := e.svc.Issue(ctx, op, IssueRequest{Class: "business-license", Agency: own.Agency, Fields: fields})
			return err
		}, nil},
		{"bad field", own, func(op Operator) error {
			f := map[string]string{}
			for k, v := range fields {
				f[k] = v
			}
			f["uscc"] = "91310115MA1FPA014X"
			_, err := e.svc.Issue(ctx, op, IssueRequest{Class: "business-license", Fields: f})
			var se *Error
			if errors.As(err, &se) && se.Field != "uscc" {
				return fmt.Errorf("field %q, want uscc: %w", se.Field, err)
			}
			return err
		}, ErrInvalid},
		{"unknown class", own, func(op Operator) error {
			_, err := e.svc.Issue(ctx, op, IssueRequest{Class: "fishing", Fields: fields})
			return err
		}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do(tc.op)
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestImportKeyIdempotent(t *testing.T) {
	e := openEnv(t, t.TempDir())
	defer e.close(t)
	op := operatorFor(t, e.pki, "business-license")
	req := IssueRequest{Class: "business-license", Fields: samples(t)["business-license"], ImportKey: "row-17"}
	a, err := e.svc.Issue(context.Background(), op, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.Issue(context.Background(), op, req)
	if err != nil || b.ID != a.ID {
		t.Fatalf("second issue with the same key: %v, %s vs %s", err, b.ID, a.ID)
	}
	if e.ledger.Size() != 1 {
		t.Fatalf("ledger size %d, want 1", e.ledger.Size())
	}
}

// TestRecover checks a restart replays what reached the ledger without
// the server (status and seal events appended while it was stopped), and
// refuses a state that lacks an issuance the ledger holds.
func TestRecover(t *testing.T) {
	dir := t.TempDir()
	e := openEnv(t, dir)
	rec, op := issueOne(t, e, "business-license")
	e.close(t)

	// Appended with the server stopped, as the seal and key commands do.
	data, err := openData(t, dir, e.pki.Ledger.Signer)
	if err != nil {
		t.Fatal(err)
	}
	a := testAudit(t)
	idx, err := data.Ledger.AppendAll(context.Background(), encodeAll(t,
		a.StatusChange(ledgerevent.StatusChange{Time: time.Now(), Agency: rec.Agency, ID: rec.ID, Credential: mustHash(rec.CredentialHash),
			From: ledgerevent.StatusValid, To: ledgerevent.StatusRevoked, Reason: "注销"}, op.Subject),
		a.SealRevoked(ledgerevent.SealRevoked{Time: time.Now(), Agency: rec.Agency, ESID: "SEAL-1", Reason: "遗失"}, "cli"),
	))
	if err != nil {
		t.Fatal(err)
	}
	data.Close()

	e = openEnv(t, dir)
	got, err := e.svc.Get(op, rec.ID)
	if err != nil || got.Status != state.StatusRevoked || got.LastEvent != idx+1 {
		t.Fatalf("after recovery: %v %+v", err, got)
	}
	if sl, err := e.store.Seal("SEAL-1"); err != nil || sl.RevokedAt.IsZero() {
		t.Fatalf("seal revocation not replayed: %+v %v", sl, err)
	}
	if w, _ := e.store.Watermark(); w != e.ledger.Size() {
		t.Fatalf("watermark %d, ledger size %d", w, e.ledger.Size())
	}
	if e.status.set[fmt.Sprint(rec.StatusList, rec.StatusIndex)] != state.StatusRevoked {
		t.Fatal("status list not rebuilt")
	}
	e.close(t)

	// An issuance in the ledger that the state does not hold: the state
	// is not this ledger's, and the server must not start on it.
	data, err = openData(t, dir, e.pki.Ledger.Signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := data.Ledger.AppendAll(context.Background(), encodeAll(t, a.Issue(ledgerevent.Issue{Time: time.Now(), Agency: rec.Agency,
		ID: rec.ID + "X", Credential: mustHash(rec.CredentialHash)}, "elsewhere"))); err != nil {
		t.Fatal(err)
	}
	svc, err := New(Options{PKI: e.pki, Store: data.Store, Ledger: data.Ledger, Status: &memStatus{}, Audit: a})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err == nil || !strings.Contains(err.Error(), rec.ID+"X") {
		t.Fatalf("recovering a state without a ledger issuance: %v", err)
	}
	data.Close()
}

// TestAckedSurvivesRestart: an acknowledged issuance is in the ledger and
// the state, written in one transaction; a restart without a clean
// service shutdown loses none.
func TestAckedSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := openEnv(t, dir)
	var ids []string
	for range 20 {
		rec, _ := issueOne(t, e, "business-license")
		ev, err := entryAt(e.ledger, rec.LedgerIndex)
		if err != nil || ev.Head().Subject != rec.ID {
			t.Fatalf("acknowledged at ledger index %d, which holds %v (%v)", rec.LedgerIndex, ev, err)
		}
		ids = append(ids, rec.ID)
	}
	e.data.Close() // no svc.Close

	e = openEnv(t, dir)
	defer e.close(t)
	op := operatorFor(t, e.pki, "business-license")
	for _, id := range ids {
		if _, err := e.svc.Get(op, id); err != nil {
			t.Fatalf("%s after the restart: %v", id, err)
		}
	}
}

// Issuances append holder entries to the store's log; once
// HolderMergeAt are waiting, housekeeping merges them into the index,
// and a holder's search lists the same licences throughout.
func TestHolderLogMerged(t *testing.T) {
	e := openEnvWith(t, t.TempDir(), func(o *Options) { o.HolderMergeAt = 4 })
	defer e.close(t)
	op := operatorFor(t, e.pki, "business-license")
	sample := samples(t)["business-license"]
	holders := []string{identtest.USCC(1), identtest.USCC(2)}
	want := map[string][]string{}
	for i := range 11 {
		fields := maps.Clone(sample)
		fields["uscc"] = holders[i%2]
		rec, err := e.svc.Issue(context.Background(), op, IssueRequest{Class: "business-license", Fields: fields})
		if err != nil {
			t.Fatal(err)
		}
		want[rec.HolderCode] = append(want[rec.HolderCode], rec.ID)
		for h, ids := range want {
			recs, _, err := e.svc.Search(op, state.Query{HolderCode: h})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(recs))
			for i, r := range recs {
				got[i] = r.ID
			}
			if !slices.Equal(got, slices.Sorted(slices.Values(ids))) {
				t.Fatalf("after %d issuances, holder %s: got %v, want %v", i+1, h, got, ids)
			}
		}
	}
	// 11 issuances with merges due at 4: the merger catches up to fewer
	// than 4 waiting.
	for deadline := time.Now().Add(10 * time.Second); e.store.HolderLogLen() >= 4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("holder log still holds %d entries", e.store.HolderLogLen())
		}
	}
}

// A holder log already over the threshold at start is merged without
// waiting for an issuance.
func TestHolderLogMergedAtStart(t *testing.T) {
	dir := t.TempDir()
	e := openEnvWith(t, dir, func(o *Options) { o.HolderMergeAt = 100 })
	var last *state.Record
	for range 3 {
		last, _ = issueOne(t, e, "business-license")
	}
	if n := e.store.HolderLogLen(); n != 3 {
		defer e.close(t)
		if n != 0 {
			t.Fatalf("holder log holds %d entries after 3 issuances", n)
		}
		// The contract (state.Maintenance) of a backend that defers no
		// index work: it reports 0 and merges nothing, and its holder
		// search already finds every licence.
		if m, err := e.store.MergeHolderLog(2); m != 0 || err != nil {
			t.Fatalf("a backend that defers nothing merged %d: %v", m, err)
		}
		recs, _, err := e.store.Search(state.Query{HolderCode: last.HolderCode, Limit: 10})
		if err != nil || len(recs) != 3 {
			t.Fatalf("holder search: %d licences, %v; want 3", len(recs), err)
		}
		return
	}
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	e.data.Close()

	e = openEnvWith(t, dir, func(o *Options) { o.HolderMergeAt = 2 })
	defer e.close(t)
	// Three waiting, merges of two: one merge, one entry left for later.
	for deadline := time.Now().Add(10 * time.Second); e.store.HolderLogLen() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("holder log still holds %d entries after the start", e.store.HolderLogLen())
		}
	}
}

// testAudit is the audit key of the tests (bytes 0..31).
func testAudit(t testing.TB) *ledgerevent.AuditKey {
	t.Helper()
	b := make([]byte, ledgerevent.AuditKeySize)
	for i := range b {
		b[i] = byte(i)
	}
	a, err := ledgerevent.NewAuditKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func encodeAll(t testing.TB, evs ...ledgerevent.Event) [][]byte {
	t.Helper()
	out := make([][]byte, len(evs))
	for i, e := range evs {
		b, err := ledgerevent.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func entryAt(l interface{ Entry(uint64) ([]byte, error) }, i uint64) (ledgerevent.Event, error) {
	b, err := l.Entry(i)
	if err != nil {
		return nil, err
	}
	return ledgerevent.Decode(b)
}

// TestOpenDataRefusesFormat1 checks a data file whose ledger holds
// entries written before the entry-format mark (format 1) is refused
// with ErrLedgerFormat and a message naming the migration.
func TestOpenDataRefusesFormat1(t *testing.T) {
	e := openEnv(t, t.TempDir())
	signer := e.pki.Ledger.Signer
	e.close(t)
	b := statetest.Open(t, t.TempDir())
	defer b.Close()
	l, err := ledger.Open(b.Ledger(), ledger.Options{Origin: "test.elicense/ledger", Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), []byte{1, 1, 0, 0}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	_, err = OpenData(b, ledger.Options{Origin: "test.elicense/ledger", Signer: signer})
	if !errors.Is(err, ErrLedgerFormat) || !strings.Contains(err.Error(), "docs/events.md") {
		t.Fatalf("format-1 ledger: %v", err)
	}
}

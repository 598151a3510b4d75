package statetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/internal/ledger"
	"elicense/issuer/state"
)

// The conformance tests of 授权用证's state (state.Consents,
// state.ConsentTx).

func newParty(id string) *state.RelyingParty {
	return &state.RelyingParty{
		ID: id, Name: "上海市食品经营许可审批系统", OrgCode: "11310000MB2F1234XY", OrgName: "上海市市场监督管理局",
		Key: []byte{0x30, 0x59, 1, 2, 3}, Callback: "https://food.example.gov.cn/cb",
		Matters: []state.Matter{{Code: "310100001000", Name: "食品经营许可证核发", Classes: []state.MatterClass{{
			Class: "c1", Fields: []state.MatterField{{Key: "name", Purpose: "核对经营者名称"}, {Key: "n", Purpose: "核对编号"}}}}}},
		State: state.PartyActive,
	}
}

func newRequest(id, rp string, use state.GrantUse) *state.Request {
	return &state.Request{
		ID: id, RP: rp, JWS: "eyJhbGciOiJTTTJTTTMifQ.eyJpZCI6InJfMSJ9.sig-" + id, Matter: "310100001000", Class: "c1",
		Fields: []string{"name", "n"}, Duration: 7 * 24 * time.Hour, Use: use, State: "opaque-ü",
		Created: t0, Expires: t0.Add(10 * time.Minute),
	}
}

func newGrant(id, request, rp, copy string, use state.GrantUse) *state.Grant {
	return &state.Grant{
		ID: id, Request: request, RP: rp, Copy: copy, Agency: "A", Matter: "310100001000", Fields: []string{"name"},
		NotAfter: t0.Add(7 * 24 * time.Hour), Use: use, Consent: "eyJ.consent.sig-" + id, RequestJWS: "eyJ.request.sig-" + request,
		Credential: "eyJ.sd.sig-" + id, Disclosures: []string{"WyJzYWx0IiwibmFtZSIsIuafkOWFrOWPuCJd"},
		Created: t0.Add(time.Minute),
	}
}

// putParty registers rp by one ledger entry.
func (f *fixture) putParty(rp *state.RelyingParty, create bool) (uint64, error) {
	return f.change("rp "+rp.ID, 1, func(tx state.Tx, first uint64) error { return tx.PutRelyingParty(rp, create, first) })
}

// grant answers request g.Request with g by one ledger entry.
func (f *fixture) grant(g *state.Grant) (uint64, error) {
	return f.change("grant "+g.ID, 1, func(tx state.Tx, first uint64) error { return tx.PutGrant(g, first) })
}

func (f *fixture) useGrant(id string) (uint64, error) {
	return f.change("use "+id, 1, func(tx state.Tx, first uint64) error { return tx.UseGrant(id, first) })
}

func (f *fixture) revokeGrant(id string, by state.RevokedBy) (uint64, error) {
	return f.change("revoke "+id, 1, func(tx state.Tx, first uint64) error {
		return tx.RevokeGrant(id, t0.Add(time.Hour), by, first)
	})
}

// setParty changes party id's state by one ledger entry.
func (f *fixture) setParty(id string, st state.PartyState, at time.Time) (uint64, error) {
	return f.change("rp-status "+id, 1, func(tx state.Tx, first uint64) error { return tx.SetPartyState(id, st, at, first) })
}

// SeedFetch makes what a fetch of a grant of party rp for licence copy
// copy (licence#tag) needs, each unless stored: the party, active, and
// the copy, bound and valid, with its licence, each by one entry of l.
func SeedFetch(tb testing.TB, b state.Backend, l *ledger.Log[state.Tx], rp, copy string) {
	tb.Helper()
	do := func(what string, fn func(tx state.Tx, first uint64) error) {
		if _, err := l.AppendWith(context.Background(), [][]byte{[]byte(what)}, fn); err != nil {
			tb.Fatalf("%s: %v", what, err)
		}
	}
	if _, err := b.RelyingParty(rp); errors.Is(err, state.ErrNotFound) {
		do("rp "+rp, func(tx state.Tx, first uint64) error { return tx.PutRelyingParty(newParty(rp), true, first) })
	}
	lic, _, _ := strings.Cut(copy, "#")
	for _, r := range []*state.Record{newRecord(lic, "H", "c1", "A"), newRecord(copy, "H", "c1", "A")} {
		if _, err := b.Get(r.ID); !errors.Is(err, state.ErrNotFound) {
			continue
		}
		if r.ID == copy {
			r.CopyOf, r.Device = lic, "02ab"
		}
		p, err := b.Prepare(r, nil)
		if err != nil {
			tb.Fatal(err)
		}
		do("issue "+r.ID, func(tx state.Tx, first uint64) error { return tx.Insert(p, first) })
	}
}

// mustGrant stores a request for g and grants it, with its party and
// copy (SeedFetch).
func (f *fixture) mustGrant(g *state.Grant) uint64 {
	f.t.Helper()
	SeedFetch(f.t, f.b, f.l, g.RP, g.Copy)
	if err := f.b.PutRequest(newRequest(g.Request, g.RP, g.Use)); err != nil {
		f.t.Fatal(err)
	}
	i, err := f.grant(g)
	if err != nil {
		f.t.Fatalf("grant %s: %v", g.ID, err)
	}
	return i
}

func (f *fixture) mustGet(id string) *state.Grant {
	f.t.Helper()
	g, err := f.b.Grant(id)
	if err != nil {
		f.t.Fatalf("grant %s: %v", id, err)
	}
	return g
}

// rejected reports whether err is a refusal of the caller's change
// carrying want, as the ledger reports one (ApplyError) or a shared
// backend at its commit (RejectedError).
func rejected(err, want error) bool {
	var ae *ledger.ApplyError
	var re *ledger.RejectedError
	return errors.Is(err, want) && (errors.As(err, &ae) || errors.As(err, &re))
}

func testRelyingParties(t *testing.T, f *fixture) {
	rp := newParty("sh-food")
	i, err := f.putParty(rp, true)
	if err != nil || rp.LedgerIndex != i {
		t.Fatalf("register: %v, ledger index %d, entry %d", err, rp.LedgerIndex, i)
	}
	if _, err := f.putParty(newParty("sh-food"), true); !rejected(err, state.ErrExists) {
		t.Fatalf("registering a taken id: %v", err)
	}
	if _, err := f.putParty(newParty("nobody"), false); !rejected(err, state.ErrNotFound) {
		t.Fatalf("changing a party never registered: %v", err)
	}
	if _, err := f.b.RelyingParty("nobody"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("reading a party never registered: %v", err)
	}
	got, err := f.b.RelyingParty("sh-food")
	if err != nil || !reflect.DeepEqual(got, rp) {
		t.Fatalf("read back %+v %v, want %+v", got, err, rp)
	}
	// Suspend: the state changes, the registration stays.
	j, err := f.setParty("sh-food", state.PartySuspended, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := f.b.RelyingParty("sh-food"); got.State != state.PartySuspended || !got.VoidBefore.Equal(t0.Add(time.Hour)) || got.LedgerIndex != j || got.Name != rp.Name {
		t.Fatalf("after suspension: %+v", got)
	}
	if w, _ := f.b.Watermark(); w != j+1 {
		t.Fatalf("watermark %d after the party's event %d", w, j)
	}
	checkReplaceKeepsState(t, f, rp)
	if _, err := f.setParty("sh-food", state.PartyRemoved, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.setParty("sh-food", state.PartyActive, t0.Add(4*time.Hour)); !rejected(err, state.ErrRevoked) {
		t.Fatalf("resuming a removed party: %v", err)
	}
	if _, err := f.putParty(newParty("sh-food"), false); !rejected(err, state.ErrRevoked) {
		t.Fatalf("replacing a removed party: %v", err)
	}
	if _, err := f.setParty("nobody", state.PartySuspended, t0); !rejected(err, state.ErrNotFound) {
		t.Fatalf("suspending a party never registered: %v", err)
	}
	if got, _ := f.b.RelyingParty("sh-food"); got.State != state.PartyRemoved || !got.VoidBefore.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("after removal: %+v", got)
	}
	if _, err := f.putParty(newParty("sh-food"), true); !rejected(err, state.ErrExists) {
		t.Fatalf("registering a removed party's id again: %v", err)
	}
	for _, id := range []string{"zz-last", "aa-first"} {
		if _, err := f.putParty(newParty(id), true); err != nil {
			t.Fatal(err)
		}
	}
	f.reopen()
	all, err := f.b.RelyingParties()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range all {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, []string{"aa-first", "sh-food", "zz-last"}) || all[1].State != state.PartyRemoved {
		t.Fatalf("listed %v (%+v)", ids, all)
	}
}

// checkReplaceKeepsState: suspended party sh-food (since t0+1h) is
// replaced by a registration read before its suspension (active, never
// suspended), as a PUT racing a suspension on another replica writes
// it: the party stays suspended with its VoidBefore, and the new
// registration is kept. A resume keeps VoidBefore, and a suspension
// recorded with an older time does not move it back.
func checkReplaceKeepsState(t *testing.T, f *fixture, read *state.RelyingParty) {
	stale := *read
	stale.Name, stale.State, stale.VoidBefore = "上海市食品经营许可审批系统（新）", state.PartyActive, time.Time{}
	k, err := f.putParty(&stale, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.b.RelyingParty("sh-food")
	if got.State != state.PartySuspended || !got.VoidBefore.Equal(t0.Add(time.Hour)) || got.Name != stale.Name || got.LedgerIndex != k {
		t.Fatalf("a replace read before the suspension: %+v", got)
	}
	if _, err := f.setParty("sh-food", state.PartyActive, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.setParty("sh-food", state.PartySuspended, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.b.RelyingParty("sh-food"); got.State != state.PartySuspended || !got.VoidBefore.Equal(t0.Add(time.Hour)) {
		t.Fatalf("a suspension at an older time moved VoidBefore: %+v", got)
	}
	if _, err := f.setParty("sh-food", state.PartyActive, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.b.RelyingParty("sh-food"); got.State != state.PartyActive || !got.VoidBefore.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after resuming: %+v", got)
	}
	if _, err := f.setParty("sh-food", state.PartySuspended, t0.Add(150*time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func testRequests(t *testing.T, f *fixture) {
	r := newRequest("r_1", "sh-food", state.UseOnce)
	if err := f.b.PutRequest(r); err != nil {
		t.Fatal(err)
	}
	if err := f.b.PutRequest(newRequest("r_1", "other", state.UseRepeat)); !errors.Is(err, state.ErrExists) {
		t.Fatalf("a request id taken: %v", err)
	}
	got, err := f.b.Request("r_1")
	if err != nil || got.ID != "r_1" || got.RP != "sh-food" || got.JWS != r.JWS || got.Duration != r.Duration || got.Use != state.UseOnce ||
		got.State != r.State || !slices.Equal(got.Fields, r.Fields) || !got.Expires.Equal(r.Expires) || got.Answer != state.AnswerPending {
		t.Fatalf("read back %+v %v", got, err)
	}
	if _, err := f.b.Request("r_none"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("an unknown request: %v", err)
	}
	if err := f.b.RefuseRequest("r_none", t0); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("refusing an unknown request: %v", err)
	}
	checkRefusalRace(t, f)
	checkRequestPruning(t, f)
}

// checkRefusalRace: concurrent refusals of the pending request r_1,
// exactly one wins, and a refused request cannot be granted.
func checkRefusalRace(t *testing.T, f *fixture) {
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f.b.RefuseRequest("r_1", t0.Add(time.Minute)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, state.ErrExists):
			t.Errorf("a losing refusal: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d refusals of one request succeeded", won)
	}
	if got, _ := f.b.Request("r_1"); got.Answer != state.AnswerRefused || !got.AnsweredAt.Equal(t0.Add(time.Minute)) || got.Grant != "" {
		t.Fatalf("after the refusal: %+v", got)
	}
	if _, err := f.grant(newGrant("g_1", "r_1", "sh-food", "A-1#d1", state.UseOnce)); !rejected(err, state.ErrExists) {
		t.Fatalf("granting a refused request: %v", err)
	}
}

// checkRequestPruning: requests are pruned by expiry, oldest first,
// answered or not (r_1, refused, among them).
func checkRequestPruning(t *testing.T, f *fixture) {
	for i, exp := range []time.Duration{time.Minute, 2 * time.Minute, time.Hour} {
		q := newRequest(fmt.Sprintf("r_p%d", i), "sh-food", state.UseRepeat)
		q.Expires = t0.Add(exp)
		if err := f.b.PutRequest(q); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := f.b.PruneRequests(t0.Add(15*time.Minute), 2); err != nil || n != 2 {
		t.Fatalf("pruned %d %v, want 2", n, err)
	}
	if _, err := f.b.Request("r_p0"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("the oldest request after pruning: %v", err)
	}
	if n, err := f.b.PruneRequests(t0.Add(15*time.Minute), 10); err != nil || n != 1 {
		t.Fatalf("pruned %d %v, want 1", n, err)
	}
	for id, kept := range map[string]bool{"r_1": false, "r_p1": false, "r_p2": true} {
		if _, err := f.b.Request(id); (err == nil) != kept {
			t.Errorf("%s after pruning: %v", id, err)
		}
	}
	f.reopen()
	if got, err := f.b.Request("r_p2"); err != nil || got.Expires.Sub(t0) != time.Hour {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
}

func testGrants(t *testing.T, f *fixture) {
	i := checkGrantAnswers(t, f)
	u1 := checkOnceGrant(t, f)
	gi, uses, ri := checkRepeatGrant(t, f)

	// Another party's grant, another copy's.
	f.mustGrant(newGrant("g_o", "r_4", "other", "A-1#d1", state.UseOnce))
	f.mustGrant(newGrant("g_c", "r_5", "sh-food", "A-2#d1", state.UseOnce))

	// Uses: every grant event about the copy, and the others added.
	ci, err := f.change("claim", 1, addUseTwice)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]uint64{i, u1, gi}, uses...), ri, f.mustGet("g_o").LedgerIndex, ci)
	f.reopen()
	if got, err := f.b.Uses("A-1#d1"); err != nil || !slices.Equal(got, want) {
		t.Fatalf("uses %v %v, want %v", got, err, want)
	}
	if got, err := f.b.Uses("A-1"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("uses of a licence with none: %#v %v", got, err)
	}
	gs, err := f.b.GrantsOfCopy("A-1#d1")
	if err != nil || !slices.Equal(grantIDs(gs), []string{"g_1", "g_r", "g_o"}) {
		t.Fatalf("grants of the copy: %v %v", grantIDs(gs), err)
	}
	if pages := grantPages(t, f, "sh-food", 2); !reflect.DeepEqual(pages, [][]string{{"g_1", "g_r"}, {"g_c"}}) {
		t.Fatalf("the party's grants in pages: %v", pages)
	}
	if gs, next, err := f.b.GrantsOfParty("nobody", 0, 10); err != nil || len(gs) != 0 || next != 0 {
		t.Fatalf("grants of a party with none: %v %d %v", gs, next, err)
	}
}

// checkGrantAnswers grants request r_1 with g_1 and checks what a grant
// answers and refuses; it returns the grant's ledger entry.
func checkGrantAnswers(t *testing.T, f *fixture) uint64 {
	g := newGrant("g_1", "r_1", "sh-food", "A-1#d1", state.UseOnce)
	if _, err := f.grant(g); !rejected(err, state.ErrNotFound) {
		t.Fatalf("granting a request not stored: %v", err)
	}
	i := f.mustGrant(g)
	if g.LedgerIndex != i {
		t.Fatalf("PutGrant set ledger index %d, entry %d", g.LedgerIndex, i)
	}
	got := f.mustGet("g_1")
	if !reflect.DeepEqual(got, g) {
		t.Fatalf("read back %+v, want %+v", got, g)
	}
	if r, _ := f.b.Request("r_1"); r.Answer != state.AnswerGranted || r.Grant != "g_1" || !r.AnsweredAt.Equal(g.Created) {
		t.Fatalf("the request after the grant: %+v", r)
	}
	if err := f.b.RefuseRequest("r_1", t0); !errors.Is(err, state.ErrExists) {
		t.Fatalf("refusing a granted request: %v", err)
	}
	if _, err := f.grant(newGrant("g_2", "r_1", "sh-food", "A-1#d1", state.UseOnce)); !rejected(err, state.ErrExists) {
		t.Fatalf("granting a request twice: %v", err)
	}
	if err := f.b.PutRequest(newRequest("r_2", "sh-food", state.UseOnce)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.grant(newGrant("g_1", "r_2", "sh-food", "A-1#d1", state.UseOnce)); !rejected(err, state.ErrExists) {
		t.Fatalf("a grant id taken: %v", err)
	}
	if r, _ := f.b.Request("r_2"); r.Answer != state.AnswerPending {
		t.Fatalf("a refused grant answered its request: %+v", r)
	}
	if _, err := f.b.Grant("g_none"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("an unknown grant: %v", err)
	}
	return i
}

// checkOnceGrant: the once grant g_1 is fetched once; it returns the
// fetch's ledger entry.
func checkOnceGrant(t *testing.T, f *fixture) uint64 {
	u1, err := f.useGrant("g_1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.useGrant("g_1"); !rejected(err, state.ErrExists) {
		t.Fatalf("a once grant fetched twice: %v", err)
	}
	if _, err := f.useGrant("g_none"); !rejected(err, state.ErrNotFound) {
		t.Fatalf("fetching an unknown grant: %v", err)
	}
	if got := f.mustGet("g_1"); got.Fetches != 1 {
		t.Fatalf("fetches %d, want 1", got.Fetches)
	}
	if w, _ := f.b.Watermark(); w != u1+1 {
		t.Fatalf("watermark %d after the fetch at %d", w, u1)
	}
	return u1
}

// checkRepeatGrant: the repeat grant g_r is fetched any number of times,
// until revoked. It returns the ledger entries of the grant, its fetches
// and its revocation.
func checkRepeatGrant(t *testing.T, f *fixture) (gi uint64, uses []uint64, ri uint64) {
	rg := newGrant("g_r", "r_3", "sh-food", "A-1#d1", state.UseRepeat)
	gi = f.mustGrant(rg)
	for range 3 {
		u, err := f.useGrant("g_r")
		if err != nil {
			t.Fatal(err)
		}
		uses = append(uses, u)
	}
	ri, err := f.revokeGrant("g_r", state.ByHolder)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.useGrant("g_r"); !rejected(err, state.ErrRevoked) {
		t.Fatalf("fetching a revoked grant: %v", err)
	}
	if _, err := f.revokeGrant("g_r", state.ByParty); !rejected(err, state.ErrRevoked) {
		t.Fatalf("revoking a grant twice: %v", err)
	}
	if _, err := f.revokeGrant("g_none", state.ByParty); !rejected(err, state.ErrNotFound) {
		t.Fatalf("revoking an unknown grant: %v", err)
	}
	if got := f.mustGet("g_r"); got.Fetches != 3 || got.RevokedBy != state.ByHolder || !got.RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("the revoked grant: %+v", got)
	}
	return gi, uses, ri
}

// addUseTwice adds a use of copy A-1#d1 twice in one change: it is kept
// once.
func addUseTwice(tx state.Tx, first uint64) error {
	if err := tx.AddUse("A-1#d1", first); err != nil {
		return err
	}
	return tx.AddUse("A-1#d1", first)
}

// grantPages lists rp's grants page by page, size a page, and fails t
// if the paging does not move forward.
func grantPages(t *testing.T, f *fixture, rp string, size int) [][]string {
	var pages [][]string
	from := uint64(0)
	for {
		gs, next, err := f.b.GrantsOfParty(rp, from, size)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, grantIDs(gs))
		if next == 0 {
			return pages
		}
		if next <= from || len(pages) > 5 {
			t.Fatalf("paging went from %d to %d", from, next)
		}
		from = next
	}
}

func grantIDs(gs []*state.Grant) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

// testGrantRaces: callers fetch one once grant, and grant one request,
// concurrently (the ledger batches them): exactly one of each wins, the
// others are refused with ErrExists and leave no entry.
func testGrantRaces(t *testing.T, f *fixture) {
	f.mustGrant(newGrant("g_1", "r_1", "sh-food", "A-1#d1", state.UseOnce))
	if err := f.b.PutRequest(newRequest("r_2", "sh-food", state.UseOnce)); err != nil {
		t.Fatal(err)
	}
	before := f.l.Size()
	const n = 32
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if i%2 == 0 {
				_, errs[i] = f.useGrant("g_1")
			} else {
				_, errs[i] = f.grant(newGrant(fmt.Sprintf("g_x%02d", i), "r_2", "sh-food", "A-1#d1", state.UseOnce))
			}
		})
	}
	close(start)
	wg.Wait()
	won := [2]int{}
	for i, err := range errs {
		switch {
		case err == nil:
			won[i%2]++
		case !rejected(err, state.ErrExists):
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if won != [2]int{1, 1} {
		t.Fatalf("%d fetches and %d grants won", won[0], won[1])
	}
	if got := f.l.Size() - before; got != 2 {
		t.Fatalf("the ledger gained %d entries for 2 successful changes", got)
	}
	if g := f.mustGet("g_1"); g.Fetches != 1 {
		t.Fatalf("fetches %d", g.Fetches)
	}
	r, _ := f.b.Request("r_2")
	if gs, _ := f.b.GrantsOfCopy("A-1#d1"); len(gs) != 2 || gs[1].ID != r.Grant {
		t.Fatalf("grants %v, the request granted to %s", grantIDs(gs), r.Grant)
	}
	if uses, _ := f.b.Uses("A-1#d1"); len(uses) != 3 {
		t.Fatalf("uses %v, want the grant, one fetch and one grant", uses)
	}
}

func testReceipts(t *testing.T, f *fixture) {
	i, err := f.change("receipts", 3, func(tx state.Tx, first uint64) error {
		for j, id := range []string{"rcpt-a", "rcpt-b"} {
			if err := tx.TakeReceipt(id, first+uint64(j)); err != nil {
				return err
			}
			if err := tx.AddUse("A-1", first+uint64(j)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// In another batch, and twice in one change.
	if _, err := f.change("again", 1, func(tx state.Tx, first uint64) error { return tx.TakeReceipt("rcpt-b", first) }); !rejected(err, state.ErrExists) {
		t.Fatalf("a receipt taken before: %v", err)
	}
	if _, err := f.change("twice", 2, func(tx state.Tx, first uint64) error {
		if err := tx.TakeReceipt("rcpt-c", first); err != nil {
			return err
		}
		return tx.TakeReceipt("rcpt-c", first+1)
	}); !rejected(err, state.ErrExists) {
		t.Fatalf("a receipt taken twice in one change: %v", err)
	}
	if _, err := f.change("c", 1, func(tx state.Tx, first uint64) error { return tx.TakeReceipt("rcpt-c", first) }); err != nil {
		t.Fatalf("a receipt whose taking failed before: %v", err)
	}
	if uses, err := f.b.Uses("A-1"); err != nil || !slices.Equal(uses, []uint64{i, i + 1}) {
		t.Fatalf("uses %v %v", uses, err)
	}
}

// fillConsents puts one of each consent piece in f's backend (fill).
func fillConsents(t *testing.T, f *fixture) {
	if _, err := f.putParty(newParty("sh-food"), true); err != nil {
		t.Fatal(err)
	}
	f.mustGrant(newGrant("g_1", "r_1", "sh-food", "A-1#d1", state.UseOnce))
	if _, err := f.useGrant("g_1"); err != nil {
		t.Fatal(err)
	}
	if err := f.b.PutRequest(newRequest("r_2", "sh-food", state.UseRepeat)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.change("receipt", 1, func(tx state.Tx, first uint64) error { return tx.TakeReceipt("rcpt-a", first) }); err != nil {
		t.Fatal(err)
	}
}

// checkConsents checks the consent pieces fillConsents put, as a copy
// or an export holds them.
func checkConsents(t *testing.T, f *fixture, c state.Store) {
	want := f.mustGet("g_1")
	if g, err := c.Grant("g_1"); err != nil || !reflect.DeepEqual(g, want) || g.Fetches != 1 {
		t.Errorf("grant in the copy: %+v %v, want %+v", g, err, want)
	}
	wantRP, _ := f.b.RelyingParty("sh-food")
	if rp, err := c.RelyingParty("sh-food"); err != nil || !reflect.DeepEqual(rp, wantRP) {
		t.Errorf("relying party in the copy: %+v %v", rp, err)
	}
	if r, err := c.Request("r_1"); err != nil || r.Answer != state.AnswerGranted || r.Grant != "g_1" {
		t.Errorf("request in the copy: %+v %v", r, err)
	}
	if r, err := c.Request("r_2"); err != nil || r.Answer != state.AnswerPending || r.Duration != 7*24*time.Hour {
		t.Errorf("pending request in the copy: %+v %v", r, err)
	}
	wantUses, _ := f.b.Uses("A-1#d1")
	if u, err := c.Uses("A-1#d1"); err != nil || len(u) != 2 || !slices.Equal(u, wantUses) {
		t.Errorf("uses in the copy: %v %v, want %v", u, err, wantUses)
	}
}

// checkConsentExport checks the consent pieces of an export.
func checkConsentExport(t *testing.T, all *state.Export) {
	if len(all.RelyingParties) != 1 || all.RelyingParties[0].ID != "sh-food" || len(all.RelyingParties[0].Matters) != 1 {
		t.Errorf("exported relying parties %+v", all.RelyingParties)
	}
	if len(all.Requests) != 2 || all.Requests[0].ID != "r_1" || all.Requests[0].Answer != state.AnswerGranted || all.Requests[1].ID != "r_2" {
		t.Errorf("exported requests %+v", all.Requests)
	}
	if len(all.Grants) != 1 || all.Grants[0].ID != "g_1" || all.Grants[0].Fetches != 1 || all.Grants[0].Disclosures[0] == "" {
		t.Errorf("exported grants %+v", all.Grants)
	}
	if len(all.Uses) != 2 || all.Uses[0].Copy != "A-1#d1" || all.Uses[0].Index >= all.Uses[1].Index {
		t.Errorf("exported uses %+v", all.Uses)
	}
	if len(all.Receipts) != 1 || all.Receipts[0].ID != "rcpt-a" {
		t.Errorf("exported receipts %+v", all.Receipts)
	}
}

// testFetchChecks: UseGrant re-checks, in the ledger's transaction, what
// the service read before it (a suspension, a status change committed
// meanwhile, on this process or another): the party active, the grant
// made after its last suspension, the copy and its licence valid.
func testFetchChecks(t *testing.T, f *fixture) {
	f.mustGrant(newGrant("g_1", "r_1", "sh-food", "A-1#d1", state.UseRepeat))
	if _, err := f.useGrant("g_1"); err != nil {
		t.Fatal(err)
	}
	// Suspended since: refused while suspended, and for ever after.
	if _, err := f.setParty("sh-food", state.PartySuspended, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.useGrant("g_1"); !rejected(err, state.ErrSuspended) {
		t.Fatalf("a fetch after the party's suspension: %v, want ErrSuspended", err)
	}
	if _, err := f.setParty("sh-food", state.PartyActive, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.useGrant("g_1"); !rejected(err, state.ErrRevoked) {
		t.Fatalf("a fetch of a grant made before the last suspension: %v, want ErrRevoked", err)
	}
	// A grant made after the resumption is fetched.
	g2 := newGrant("g_2", "r_2", "sh-food", "A-1#d1", state.UseRepeat)
	g2.Created = t0.Add(4 * time.Minute)
	f.mustGrant(g2)
	if _, err := f.useGrant("g_2"); err != nil {
		t.Fatalf("a grant made after the resumption: %v", err)
	}
	// The licence suspended, then valid again; the copy unbound.
	f.applyChange(state.Change{ID: "A-1", Status: state.StatusSuspended, Reason: "核查", At: t0.Add(5 * time.Minute)})
	if _, err := f.useGrant("g_2"); !rejected(err, state.ErrNotValid) {
		t.Fatalf("a fetch of a suspended licence: %v, want ErrNotValid", err)
	}
	f.applyChange(state.Change{ID: "A-1", Status: state.StatusValid, Reason: "恢复", At: t0.Add(6 * time.Minute)})
	if _, err := f.useGrant("g_2"); err != nil {
		t.Fatalf("a fetch once the licence is valid again: %v", err)
	}
	f.applyChange(state.Change{ID: "A-1#d1", Status: state.StatusRevoked, Reason: "解绑", At: t0.Add(7 * time.Minute), Unbind: true})
	if _, err := f.useGrant("g_2"); !rejected(err, state.ErrNotValid) {
		t.Fatalf("a fetch of an unbound copy: %v, want ErrNotValid", err)
	}
	// A grant whose copy the state does not hold, or whose party it does
	// not, is refused alike.
	for _, g := range []*state.Grant{newGrant("g_3", "r_3", "sh-food", "A-9#d1", state.UseRepeat), newGrant("g_4", "r_4", "nobody", "A-1#d1", state.UseRepeat)} {
		g.Created = t0.Add(4 * time.Minute)
		if err := f.b.PutRequest(newRequest(g.Request, g.RP, g.Use)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.grant(g); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.useGrant("g_3"); !rejected(err, state.ErrNotValid) {
		t.Fatalf("a fetch of a copy not stored: %v, want ErrNotValid", err)
	}
	if _, err := f.useGrant("g_4"); !rejected(err, state.ErrSuspended) {
		t.Fatalf("a fetch for a party not stored: %v, want ErrSuspended", err)
	}
	if got := f.mustGet("g_2"); got.Fetches != 2 {
		t.Fatalf("fetches %d, want 2 (refusals count none)", got.Fetches)
	}
	if got := f.mustGet("g_1"); got.Fetches != 1 {
		t.Fatalf("fetches %d, want 1", got.Fetches)
	}
}

// testGrantKeys: a grant whose credential is signed by a key an earlier
// event retired is refused (ErrKeyRetired), in a later batch or later in
// the same one; before the event, and other keys', are not.
func testGrantKeys(t *testing.T, f *fixture) {
	const old, cur = "0102030405060708", "1112131415161718"
	keyed := func(id, kid string) *state.Grant {
		g := newGrant(id, "r"+id[1:], "sh-food", "A-1#d1", state.UseOnce)
		g.KeyID = kid
		if err := f.b.PutRequest(newRequest(g.Request, g.RP, g.Use)); err != nil {
			t.Fatal(err)
		}
		return g
	}
	SeedFetch(t, f.b, f.l, "sh-food", "A-1#d1")
	if _, err := f.grant(keyed("g_1", old)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.change("retire", 1, func(tx state.Tx, first uint64) error { return tx.RetireKey(old, first) }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.grant(keyed("g_2", old)); !rejected(err, state.ErrKeyRetired) {
		t.Fatalf("a grant signed by a retired key: %v, want ErrKeyRetired", err)
	}
	if r, _ := f.b.Request("r_2"); r.Answer != state.AnswerPending {
		t.Fatalf("a refused grant answered its request: %+v", r)
	}
	if _, err := f.grant(keyed("g_3", cur)); err != nil {
		t.Fatalf("a grant signed by the current key: %v", err)
	}
	if got := f.mustGet("g_3"); got.KeyID != cur {
		t.Fatalf("the grant's key ID read back %q", got.KeyID)
	}
	const k = "2122232425262728"
	g4, g5 := keyed("g_4", k), keyed("g_5", k)
	_, err := f.change("batch", 3, func(tx state.Tx, first uint64) error {
		if err := tx.PutGrant(g4, first); err != nil {
			return err
		}
		if err := tx.RetireKey(k, first+1); err != nil {
			return err
		}
		return tx.PutGrant(g5, first+2)
	})
	if !errors.Is(err, state.ErrKeyRetired) {
		t.Fatalf("a grant signed later in the batch that retired its key: %v, want ErrKeyRetired", err)
	}
	for id, want := range map[string]bool{"g_1": true, "g_2": false, "g_3": true, "g_4": false, "g_5": false} {
		if _, err := f.b.Grant(id); (err == nil) != want {
			t.Errorf("%s: %v, want it stored: %v", id, err, want)
		}
	}
}

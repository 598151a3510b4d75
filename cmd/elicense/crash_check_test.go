package main

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

// crashLedger is the ledger as read back from the server after each
// restart, and the state its events imply.
type crashLedger struct {
	entries [][]byte
	tree    *tlog.MemTree
	status  map[string]string   // licence or copy → valid, suspended, revoked, superseded
	copies  map[string][]string // licence → its copies
	unbound map[string]bool
	trans   map[string][]string // licence or copy → transitions, as the load records them
	seals   map[string]bool     // esID → revoked
	kinds   map[ledgerevent.Kind]int
}

func (l *crashLedger) init() {
	l.tree = tlog.NewMemTree(tlog.SM3)
	l.status, l.copies, l.unbound = map[string]string{}, map[string][]string{}, map[string]bool{}
	l.trans, l.seals, l.kinds = map[string][]string{}, map[string]bool{}, map[ledgerevent.Kind]int{}
}

// apply adds entry i to the implied state, checking that each change
// starts from the state the ledger had put the licence in.
func (l *crashLedger) apply(i int, raw []byte) error {
	ev, err := ledgerevent.Decode(raw)
	if err != nil {
		return fmt.Errorf("entry %d: %v", i, err)
	}
	l.kinds[ev.Kind()]++
	from := func(id string, s ledgerevent.Status) error {
		if got := l.status[id]; got != s.String() {
			return fmt.Errorf("entry %d (%s %s) changes it from %s, the ledger had it %q", i, ev.Kind(), id, s, got)
		}
		return nil
	}
	switch e := ev.(type) {
	case *ledgerevent.Issue:
		l.status[e.ID] = "valid"
	case *ledgerevent.Reissue:
		if err := from(e.Supersedes, e.From); err != nil {
			return err
		}
		l.status[e.ID] = "valid"
		l.set(e.Supersedes, "superseded")
	case *ledgerevent.StatusChange:
		if err := from(e.ID, e.From); err != nil {
			return err
		}
		l.set(e.ID, e.To.String())
	case *ledgerevent.Claim:
		parent, _, _ := strings.Cut(e.ID, "#")
		if l.status[parent] != "valid" {
			return fmt.Errorf("entry %d: claim of %s, which the ledger has %q", i, e.ID, l.status[parent])
		}
		l.status[e.ID] = "valid"
		l.copies[parent] = append(l.copies[parent], e.ID)
	case *ledgerevent.Unbind:
		if err := from(e.ID, e.From); err != nil {
			return err
		}
		l.status[e.ID], l.unbound[e.ID] = "revoked", true
		l.trans[e.ID] = append(l.trans[e.ID], "unbound")
	case *ledgerevent.SealMade:
		l.seals[e.ESID] = false
	case *ledgerevent.SealRevoked:
		if revoked, ok := l.seals[e.ESID]; !ok || revoked {
			return fmt.Errorf("entry %d: revokes seal %s, made %v, revoked %v", i, e.ESID, ok, revoked)
		}
		l.seals[e.ESID] = true
	}
	return nil
}

// set moves licence id and its copies (those not unbound) to st.
func (l *crashLedger) set(id, st string) {
	l.status[id] = st
	l.trans[id] = append(l.trans[id], st)
	for _, c := range l.copies[id] {
		if !l.unbound[c] {
			l.status[c] = st
		}
	}
}

// check runs every check after a restart and returns the number of
// acknowledged events lost.
func (r *crashRun) check(t *testing.T, v crashVerified) int {
	t.Helper()
	from := len(r.ledger.entries)
	r.readLedger(t)
	r.cur.durable += r.unansweredDurable(t, from)
	if n := uint64(len(r.ledger.entries)); v.size != n || v.root != hex.EncodeToString(r.ledger.root(t, n)) {
		t.Errorf("ledger verify on the killed data: %d entries, root %s; the restarted server serves %d entries, root %x", v.size, v.root, n, r.ledger.root(t, n))
	}
	lost := r.checkAcked(t) + r.checkTransitions(t)
	// Every new entry is accounted for: an acknowledged answer, or a
	// request the kill cut off.
	if n, want := len(r.ledger.entries)-from, r.cur.events()+r.cur.durable; n != want {
		t.Errorf("the ledger gained %d entries; %d were acknowledged or cut off by the kill", n, want)
	}
	r.checkState(t)
	b := r.checkBundle(t)
	r.checkLists(t, b)
	if lost > 0 {
		t.Errorf("%d acknowledged events lost or changed", lost)
	}
	return lost
}

// get fetches a public path of the running server.
func (r *crashRun) get(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := r.client.Get(r.s.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v\n%s", path, resp.StatusCode, err, b)
	}
	return b
}

// readLedger reads the entries the restarted server serves as tiles,
// from the last whole tile already read: what was read before must not
// have changed.
func (r *crashRun) readLedger(t *testing.T) {
	t.Helper()
	var ready struct {
		Size uint64 `json:"ledger_size"`
	}
	if st := r.s.call(t, "GET", "/readyz", "", nil, &ready); st != 200 {
		t.Fatalf("readyz: %d", st)
	}
	l := &r.ledger
	if ready.Size < uint64(len(l.entries)) {
		t.Fatalf("the ledger shrank: %d entries, %d read before", ready.Size, len(l.entries))
	}
	for n := uint64(len(l.entries)) / tlog.TileWidth; n*tlog.TileWidth < ready.Size; n++ {
		tile, _ := tlog.TileAt(ready.Size, 0, n, true)
		got, err := tlog.ParseEntryBundle(tile, r.get(t, "/v1/ledger/"+tile.Path()))
		if err != nil {
			t.Fatalf("%s: %v", tile.Path(), err)
		}
		for j, e := range got {
			i := int(n*tlog.TileWidth) + j
			if i < len(l.entries) {
				if !bytes.Equal(e, l.entries[i]) {
					t.Errorf("ledger entry %d changed across the restart", i)
				}
				continue
			}
			l.entries = append(l.entries, e)
			l.tree.AppendEntry(e)
			if err := l.apply(i, e); err != nil {
				t.Error(err)
			}
		}
	}
}

// root is the tree hash of the first n entries read.
func (l *crashLedger) root(t *testing.T, n uint64) []byte {
	h, err := tlog.SM3.RootAt(n, l.tree)
	if err != nil {
		t.Fatalf("root at %d: %v", n, err)
	}
	return h[:]
}

// unansweredDurable counts the new entries (from index from) that made
// something no client was told of: an issuance, claim or seal whose
// answer the kill cut off (status changes and re-issues:
// checkTransitions). Each kind may have no more of them than requests of
// that kind were cut off, so a duplicated or invented entry fails.
func (r *crashRun) unansweredDurable(t *testing.T, from int) int {
	t.Helper()
	var issues, claims, seals int
	for i := from; i < len(r.ledger.entries); i++ {
		if _, ok := r.want[uint64(i)]; ok {
			continue
		}
		switch ev, _ := ledgerevent.Decode(r.ledger.entries[i]); ev.(type) {
		case *ledgerevent.Issue:
			issues++
		case *ledgerevent.Claim:
			claims++
		case *ledgerevent.SealMade:
			seals++
		}
	}
	f := r.cur.inFlight
	for _, c := range []struct {
		what      string
		got, most int
	}{
		{"issuances", issues, f[crashKindIssue] + f[crashKindBatch]},
		{"claims", claims, f[crashKindClaim] + f[crashKindBankedClaim]},
		{"seals", seals, f[crashKindSeal]},
	} {
		if c.got > c.most {
			t.Errorf("the ledger holds %d %s nobody was answered for, but only %d such requests were cut off by the kill", c.got, c.what, c.most)
		}
	}
	return issues + claims + seals
}

// checkAcked finds each acknowledged issuance, re-issue, claim and seal
// at its ledger index with the digest it was answered with.
func (r *crashRun) checkAcked(t *testing.T) int {
	lost := 0
	for i, w := range r.want {
		if i >= uint64(len(r.ledger.entries)) {
			t.Errorf("acknowledged %s %s at ledger index %d: the ledger has %d entries", w.kind, w.id, i, len(r.ledger.entries))
			lost++
			continue
		}
		ev, _ := ledgerevent.Decode(r.ledger.entries[i])
		var id, supersedes string
		var sum [32]byte
		switch e := ev.(type) {
		case *ledgerevent.Issue:
			id, sum = e.ID, e.Credential
		case *ledgerevent.Reissue:
			id, sum, supersedes = e.ID, e.Credential, e.Supersedes
		case *ledgerevent.Claim:
			id, sum = e.ID, e.Credential
		case *ledgerevent.SealMade:
			id, sum = e.ESID, e.Seal
		}
		if id != w.id || sum != w.sum || supersedes != w.supersedes || !crashSameKind(w.kind, ev) {
			t.Errorf("acknowledged %s %s (SM3 %x) at ledger index %d: the entry there is %T %s (SM3 %x)", w.kind, w.id, w.sum[:6], i, ev, id, sum[:6])
			lost++
		}
	}
	clear(r.want)
	for esid, acked := range r.sealRev {
		if acked && !r.ledger.seals[esid] {
			t.Errorf("acknowledged revocation of seal %s is not in the ledger", esid)
			lost++
		}
	}
	return lost
}

func crashSameKind(kind string, ev ledgerevent.Event) bool {
	switch ev.(type) {
	case *ledgerevent.Issue:
		return kind == crashKindIssue || kind == crashKindBatch
	case *ledgerevent.Reissue:
		return kind == crashKindReissue
	case *ledgerevent.Claim:
		return kind == crashKindClaim
	case *ledgerevent.SealMade:
		return kind == crashKindSeal
	}
	return false
}

// checkTransitions: each licence's and copy's changes in the ledger are
// those acknowledged, in order, plus at most the one the kill left
// unanswered.
func (r *crashRun) checkTransitions(t *testing.T) int {
	lost := 0
	ids := map[string]bool{}
	for id := range r.acked {
		ids[id] = true
	}
	for id := range r.ledger.trans {
		ids[id] = true
	}
	for id := range r.pending {
		ids[id] = true
	}
	for id := range ids {
		got, acked := r.ledger.trans[id], r.acked[id]
		if slices.Equal(got, acked) {
			// An unanswered change not in the ledger never happened, and
			// must not appear later either.
			delete(r.pending, id)
			continue
		}
		if p, ok := r.pending[id]; ok && slices.Equal(got, append(slices.Clip(acked), p)) {
			r.cur.durable++ // made durable, never answered
			r.acked[id] = got
			delete(r.pending, id)
			continue
		}
		if len(got) < len(acked) || !slices.Equal(got[:len(acked)], acked) {
			lost++
		}
		t.Errorf("%s: the ledger has changes %v; acknowledged %v, unanswered %q", id, got, acked, r.pending[id])
	}
	for esid, revoked := range r.ledger.seals {
		acked, sent := r.sealRev[esid]
		switch {
		case revoked && !sent:
			t.Errorf("seal %s revoked in the ledger, never asked", esid)
		case revoked && !acked:
			r.cur.durable++
			r.sealRev[esid] = true
		case !revoked && sent && !acked:
			delete(r.sealRev, esid) // never happened; must not appear later
		}
	}
	return lost
}

// crashListed is what a holder search lists of a licence.
type crashListed struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	StatusList  string `json:"status_list"`
	StatusIndex uint64 `json:"status_index"`
}

// checkState: the holder search lists every licence of the ledger once,
// in the state the ledger implies, at the status position it was given;
// so is every copy, read one by one.
func (r *crashRun) checkState(t *testing.T) {
	listed := map[string]int{}
	see := func(v crashListed) {
		if want := r.ledger.status[v.ID]; v.Status != want {
			t.Errorf("%s: the server says %s, the ledger's events %q", v.ID, v.Status, want)
		}
		p := crashPos{v.StatusList, v.StatusIndex}
		if old, ok := r.pos[v.ID]; ok && old != p {
			t.Errorf("%s: status position %v, answered %v", v.ID, p, old)
		}
		r.pos[v.ID] = p
	}
	for holder := range r.holders {
		for after := ""; ; {
			var page struct {
				Licences []crashListed `json:"licences"`
				Next     string        `json:"next"`
			}
			q := "/v1/licences?limit=1000&holder=" + url.QueryEscape(holder) + "&after=" + url.QueryEscape(after)
			if st := r.s.call(t, "GET", q, r.admin, nil, &page); st != 200 {
				t.Fatalf("holder search: %d", st)
			}
			for _, v := range page.Licences {
				listed[v.ID]++
				see(v)
			}
			if after = page.Next; after == "" {
				break
			}
		}
	}
	for id := range r.ledger.status {
		if strings.Contains(id, "#") {
			var v crashListed
			if st := r.s.call(t, "GET", "/v1/licences/"+url.PathEscape(id), r.admin, nil, &v); st != 200 {
				t.Errorf("copy %s: %d", id, st)
				continue
			}
			see(v)
		} else if listed[id] != 1 {
			t.Errorf("licence %s listed %d times by its holder's search", id, listed[id])
		}
	}
}

// checkBundle waits for the trust bundle to carry a checkpoint of the
// whole ledger, and checks it against the PKI and the ledger.
func (r *crashRun) checkBundle(t *testing.T) *trust.Bundle {
	t.Helper()
	roots := []*gm.Certificate{r.pki.Root}
	size := uint64(len(r.ledger.entries))
	var b *trust.Bundle
	var cp tlog.Checkpoint
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if b, err = trust.Verify(string(r.get(t, "/v1/trust")), trust.VerifyOptions{Roots: roots}); err != nil {
			t.Fatalf("trust bundle: %v", err)
		}
		ledgerCert, err := gm.ParseCertificate(b.LedgerKey.Cert)
		if err != nil {
			t.Fatal(err)
		}
		nv, err := tlog.NewNoteVerifier(ledgerOrigin(b.Root), ledgerCert.PublicKey.(*ecdsa.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		if cp, err = tlog.VerifyCheckpoint([]byte(b.Checkpoint), ledgerOrigin(b.Root), nv); err != nil {
			t.Fatalf("bundle checkpoint: %v", err)
		}
		if cp.Size > size {
			t.Fatalf("bundle checkpoint of %d entries, the ledger has %d", cp.Size, size)
		}
		if !bytes.Equal(cp.Root[:], r.ledger.root(t, cp.Size)) {
			t.Errorf("bundle checkpoint root at %d is not the ledger's", cp.Size)
		}
		if cp.Size == size {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("30 s after the restart the bundle's checkpoint covers %d of %d entries", cp.Size, size)
			break
		}
	}
	r.checkBundlePKI(t, b)
	var revoked []string
	for esid, rev := range r.ledger.seals {
		if rev {
			revoked = append(revoked, esid)
		}
	}
	var listed []string
	for _, s := range b.RevokedSeals {
		listed = append(listed, s.ESID)
	}
	slices.Sort(revoked)
	slices.Sort(listed)
	if !slices.Equal(revoked, listed) {
		t.Errorf("bundle lists %d revoked seals, the ledger revoked %d", len(listed), len(revoked))
	}
	return b
}

// checkBundlePKI: the bundle lists the agencies of the PKI, with their
// names, classes and keys, and its ledger key.
func (r *crashRun) checkBundlePKI(t *testing.T, b *trust.Bundle) {
	p := r.pki
	if b.Root != gm.KeyIDString(p.RootDER) || b.LedgerKey.KID != p.Ledger.KeyID {
		t.Errorf("bundle root %s ledger key %s; the PKI has %s, %s", b.Root, b.LedgerKey.KID, gm.KeyIDString(p.RootDER), p.Ledger.KeyID)
	}
	if len(b.Agencies) != len(p.Agencies) {
		t.Errorf("bundle lists %d agencies, the PKI has %d", len(b.Agencies), len(p.Agencies))
		return
	}
	for i, a := range p.Agencies {
		g := b.Agencies[i]
		if g.Code != a.Code || g.Name != a.Name || !slices.Equal(g.Classes, a.Classes) || len(g.Keys) != 1+len(a.Previous) ||
			g.Keys[0].KID != a.KeyID || g.Keys[0].State != trust.KeyActive || !bytes.Equal(g.Keys[0].Cert, a.CertDER) {
			t.Errorf("bundle agency %d: %s %s %v, %d keys; the PKI has %s %s %v key %s", i, g.Code, g.Name, g.Classes, len(g.Keys), a.Code, a.Name, a.Classes, a.KeyID)
		}
	}
}

// crashListBits are the status-list values of the states.
var crashListBits = map[string]statuslist.Status{
	"valid": statuslist.Valid, "revoked": statuslist.Revoked, "suspended": statuslist.Suspended, "superseded": statuslist.Superseded,
}

// checkLists fetches every status list the bundle names, verifies it, and
// checks every licence's and copy's entry against the ledger's state.
func (r *crashRun) checkLists(t *testing.T, b *trust.Bundle) {
	lists := map[string]*statuslist.Signed{}
	for _, sl := range b.StatusLists {
		resp, err := r.client.Get(sl.URI)
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status list %s: %d", sl.ID, resp.StatusCode)
		}
		signed, err := statuslist.Parse(string(doc), statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(sl.ID), MinVersion: sl.Version})
		if err != nil {
			t.Fatalf("status list %s: %v", sl.ID, err)
		}
		lists[sl.ID] = signed
	}
	for id, st := range r.ledger.status {
		p, ok := r.pos[id]
		if !ok {
			t.Errorf("%s: no status position known", id)
			continue
		}
		l, ok := lists[p.list]
		if !ok {
			t.Errorf("%s: status list %s is not in the bundle", id, p.list)
			continue
		}
		if got, err := l.Status(int(p.idx)); err != nil || got != crashListBits[st] {
			t.Errorf("%s: status list %s entry %d is %v (%v), the ledger's events say %s", id, p.list, p.idx, got, err, st)
		}
	}
}

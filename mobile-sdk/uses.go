package mobilesdk

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"elicense/internal/ledger/tlog"
)

// Use is one ledger event about a licence copy (用证记录, docs/consent.md
// §7): its claim, a grant, a fetch or revocation of one, or a counter's
// verification. Verified says the wallet checked it against the public
// ledger itself; Problem says why not.
type Use struct {
	Index      int64  // the ledger entry
	Kind       string // "claim", "grant", "grant-use", "grant-revoked", "counter-verified", …
	Time       int64  // Unix seconds, from the ledger entry
	Grant      string // the grant concerned (grant events)
	RPID       string // the relying party (grant events)
	RPName     string
	MatterCode string
	MatterName string
	Fields     string // approved field keys, comma-separated (grant)
	Counter    string // the counter that verified the licence (counter-verified)
	Verdict    string // its verdict, e.g. VALID
	// Verified: the entry decodes to what the issuer listed, it concerns
	// this licence (the opening of its commitment is this copy, or it
	// names a grant of this copy verified in the same list), and it is in
	// the ledger under a checkpoint signed by the ledger key.
	Verified bool
	Problem  string // why it is not Verified ("" when it is)
}

// UseList is a licence's uses, oldest first.
type UseList struct{ items []*Use }

// Len is the number of uses.
func (l *UseList) Len() int64 { return int64(len(l.items)) }

// At returns the i-th use (0 ≤ i < Len), or nil.
func (l *UseList) At(i int64) *Use {
	if i < 0 || i >= int64(len(l.items)) {
		return nil
	}
	return l.items[i]
}

// Verified is how many uses checked.
func (l *UseList) Verified() int64 {
	n := int64(0)
	for _, u := range l.items {
		if u.Verified {
			n++
		}
	}
	return n
}

// wireUse is one use as the issuer lists it.
type wireUse struct {
	Index   *uint64         `json:"index"`
	Kind    string          `json:"kind"`
	Time    json.RawMessage `json:"time"`
	Raw     string          `json:"raw"`
	Grant   string          `json:"grant"`
	RP      json.RawMessage `json:"rp"`
	Matter  json.RawMessage `json:"matter"`
	Fields  []string        `json:"fields"`
	Counter string          `json:"counter"`
	Verdict string          `json:"verdict"`
	Opening *struct {
		Field string `json:"field"`
		Salt  string `json:"salt"`
		Value string `json:"value"`
	} `json:"opening"`
}

// Uses lists every ledger event about licence licenceID (copy identifier,
// or the licence identifier when the wallet holds one copy of it), oldest
// first, and checks each as docs/consent.md §7 says: the raw entry
// decodes to what is listed; where the entry commits to the licence, the
// opening matches the commitment and names this copy (or, for a counter
// that read a static QR, its licence); a grant's fetches and revocation
// name a grant verified in the list; and the entry is in the ledger under
// a checkpoint signed by the ledger key of the trust bundle verified under
// the pinned root. A use that does not check is listed with Verified false
// and the Problem; only an unusable answer or trust data is an error.
func (w *Wallet) Uses(licenceID string) (*UseList, error) {
	r, err := w.resolve(licenceID)
	if err != nil {
		return nil, err
	}
	rf, err := w.newRefresher()
	if err != nil {
		return nil, err
	}
	b, err := rf.bundle(r.Server)
	if err != nil {
		return nil, err
	}
	if b.LedgerKey == nil {
		return nil, wrapf(ErrForgedAnswer, "the trust bundle names no ledger key")
	}
	var raw json.RawMessage
	if err := w.holderCall(r.Server, r.ID, http.MethodGet, "/v1/holder/uses", "licence="+url.QueryEscape(r.ID), nil, &raw); err != nil {
		return nil, err
	}
	var list []*wireUse
	if err := unwrapList(raw, "uses", &list); err != nil {
		return nil, wrapf(ErrNetwork, "GET /v1/holder/uses: %v", err)
	}
	// The issuer signs a checkpoint every second or so: wait a little for
	// one covering the newest use, as Claim does for its proof.
	var last uint64
	for _, wu := range list {
		if wu != nil && wu.Index != nil {
			last = max(last, *wu.Index)
		}
	}
	var cp tlog.Checkpoint
	for deadline := time.Now().Add(3 * time.Second); ; {
		note, err := getFresh(rf.client, r.Server+"/v1/ledger/checkpoint")
		if err != nil {
			return nil, err
		}
		if cp, err = verifyCheckpoint(note, b.LedgerKey.Cert); err != nil {
			return nil, wrapf(ErrForgedAnswer, "ledger checkpoint: %v", err)
		}
		if cp.Size > last || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	uc := &useChecker{copyID: r.ID, licenceID: r.CopyOf, grants: map[string]*useEvent{}, cp: cp,
		proof: func(index, size uint64) ([]tlog.Hash, error) { return fetchInclusion(rf.client, r.Server, index, size) }}
	if uc.licenceID == "" {
		uc.licenceID, _, _ = strings.Cut(r.ID, "#")
	}
	out := &UseList{}
	for _, wu := range list {
		if wu == nil {
			continue
		}
		out.items = append(out.items, uc.check(wu))
	}
	return out, nil
}

// useChecker checks the uses of one copy, in list order (a grant's
// fetches come after the grant).
type useChecker struct {
	copyID, licenceID string
	grants            map[string]*useEvent // grants of this copy verified so far
	cp                tlog.Checkpoint      // verified
	proof             func(index, size uint64) ([]tlog.Hash, error)
}

// check turns a listed use into a Use, verified or with its problem.
func (c *useChecker) check(wu *wireUse) *Use {
	u := &Use{Kind: wu.Kind, Grant: wu.Grant, Fields: strings.Join(wu.Fields, ","), Counter: wu.Counter, Verdict: wu.Verdict}
	u.RPID, u.RPName = idName(wu.RP, "id")
	u.MatterCode, u.MatterName = idName(wu.Matter, "code")
	u.Time = unixOf(wu.Time)
	if wu.Index != nil {
		u.Index = int64(min(*wu.Index, 1<<62))
	}
	if err := c.verify(wu, u); err != nil {
		u.Problem = err.Error()
		return u
	}
	u.Verified = true
	return u
}

func (c *useChecker) verify(wu *wireUse, u *Use) (err error) {
	if wu.Index == nil {
		return fmt.Errorf("no ledger index")
	}
	entry, err := base64.StdEncoding.DecodeString(wu.Raw)
	if err != nil {
		return fmt.Errorf("the entry is not base64: %v", err)
	}
	ev, err := decodeUseEvent(entry)
	if err != nil {
		return fmt.Errorf("the entry does not decode: %v", err)
	}
	// What the entry says wins over what was listed.
	u.Kind, u.Time = ev.kind, ev.time.Unix()
	if ev.kind != wu.Kind {
		return fmt.Errorf("listed as %s, the entry is a %s", wu.Kind, ev.kind)
	}
	if t := unixOf(wu.Time); t != 0 && t != ev.time.Unix() {
		return fmt.Errorf("listed at %s, the entry says %s", time.Unix(t, 0).UTC().Format(time.RFC3339), ev.time.UTC().Format(time.RFC3339))
	}
	// A fetch or revocation names only its grant: its matter and fields
	// are the grant's, verified earlier in the list.
	if ev.grant != "" && ev.kind != kindGrant {
		g := c.grants[ev.grant]
		if g == nil {
			return fmt.Errorf("grant %s is not a verified grant of this licence", ev.grant)
		}
		ev.matter, ev.fields = g.matter, g.fields
	}
	same := func(what, listed, entry string) error {
		if listed != "" && listed != entry {
			return fmt.Errorf("listed %s %q, the entry says %q", what, listed, entry)
		}
		return nil
	}
	for _, chk := range []error{
		same("grant", u.Grant, ev.grant), same("relying party", u.RPID, ev.rp), same("matter", u.MatterCode, ev.matter),
		same("fields", u.Fields, ev.fields), same("counter", u.Counter, ev.counter), same("verdict", u.Verdict, ev.verdict),
	} {
		if chk != nil {
			return chk
		}
	}
	u.Grant, u.RPID, u.MatterCode, u.Fields, u.Counter, u.Verdict = ev.grant, ev.rp, ev.matter, ev.fields, ev.counter, ev.verdict
	switch {
	case ev.subjectIsCopy: // the claim names the copy itself
		if ev.subject != c.copyID {
			return fmt.Errorf("the entry is about %s, not this licence", ev.subject)
		}
	case ev.commitsLicence:
		o := wu.Opening
		if o == nil || o.Field != "licence" {
			return fmt.Errorf("no opening of the entry's licence commitment")
		}
		salt, err := hex.DecodeString(o.Salt)
		if err != nil {
			return fmt.Errorf("opening: salt is not hex")
		}
		if o.Value != c.copyID && !(ev.kind == kindCounterVerified && o.Value == c.licenceID) {
			return fmt.Errorf("the opening names %q, not this licence", o.Value)
		}
		if err := ev.open(salt, []byte(o.Value)); err != nil {
			return err
		}
		if ev.kind == kindGrant {
			defer func() { // once the whole entry has checked
				if err == nil {
					c.grants[ev.grant] = ev
				}
			}()
		}
	case ev.grant != "": // a fetch or revocation of a verified grant of this copy (checked above)
	default:
		return fmt.Errorf("a %s entry does not concern a licence copy", ev.kind)
	}
	if uint64(*wu.Index) >= c.cp.Size {
		return fmt.Errorf("not yet in a signed checkpoint (size %d)", c.cp.Size)
	}
	proof, err := c.proof(*wu.Index, c.cp.Size)
	if err != nil {
		return fmt.Errorf("inclusion proof: %v", err)
	}
	if err := tlog.SM3.VerifyInclusion(tlog.SM3.HashLeaf(entry), *wu.Index, c.cp.Size, proof, c.cp.Root); err != nil {
		return fmt.Errorf("not in the ledger at index %d: %v", *wu.Index, err)
	}
	return nil
}

// fetchInclusion gets the inclusion proof of entry index in the tree of
// size size.
func fetchInclusion(client *http.Client, base string, index, size uint64) ([]tlog.Hash, error) {
	var pr struct {
		Proof []string `json:"proof"`
	}
	if err := getJSON(client, fmt.Sprintf("%s/v1/ledger/proof/inclusion?index=%d&tree_size=%d", base, index, size), &pr); err != nil {
		return nil, err
	}
	out := make([]tlog.Hash, 0, len(pr.Proof))
	for i, h := range pr.Proof {
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(raw) != len(tlog.Hash{}) {
			return nil, fmt.Errorf("proof hash %d is not a base64 SM3 digest", i)
		}
		out = append(out, tlog.Hash(raw))
	}
	return out, nil
}

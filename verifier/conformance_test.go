package verifier

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"flag"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"elicense/certs/qr"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/base45"
	"elicense/internal/gm"
	"elicense/verifier/internal/testpki"

	"github.com/fxamacker/cbor/v2"
)

var update = flag.Bool("update", false, "regenerate testdata/conformance.json from a fresh in-process PKI")

const conformancePath = "testdata/conformance.json"

// Conformance is the conformance set: trust data, a time, and QR texts
// with the verdict each must get, checked in order by one verifier (so a
// repeated presentation is a replay).
type Conformance struct {
	Note   string            `json:"_note"`
	Now    time.Time         `json:"now"`
	Root   string            `json:"root_pem"`
	Bundle string            `json:"bundle"`
	Lists  map[string]string `json:"status_lists"`
	// Genuine holds the genuine-set documents the bundle names, base64
	// by key ID.
	Genuine map[string][]byte `json:"genuine_sets,omitempty"`
	Cases   []Case            `json:"cases"`
}

// Case is one QR text and its expected verdict.
type Case struct {
	Name string `json:"name"`
	Text string `json:"text"`
	Want Code   `json:"want"`
}

// loadState verifies a conformance set's trust data as a counter would.
func (c *Conformance) loadState(t testing.TB) State {
	t.Helper()
	roots, err := gm.ParseCertificatesPEM([]byte(c.Root))
	if err != nil {
		t.Fatal(err)
	}
	b, err := trust.Verify(c.Bundle, trust.VerifyOptions{Roots: roots, Now: c.Now})
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	st := State{Bundle: b, Lists: map[string]*statuslist.Signed{}}
	for id, tok := range c.Lists {
		sl, _ := b.StatusList(id)
		s, err := statuslist.Parse(tok, statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(id), Now: c.Now})
		if err != nil {
			t.Fatalf("list %s: %v", id, err)
		}
		st.Lists[id] = s
	}
	for kid, doc := range c.Genuine {
		g, err := b.VerifyGenuineSet(kid, doc)
		if err != nil {
			t.Fatalf("genuine set %s: %v", kid, err)
		}
		if st.Genuine == nil {
			st.Genuine = map[string]*trust.GenuineSet{}
		}
		st.Genuine[kid] = g
	}
	return st
}

func TestConformance(t *testing.T) {
	if *update {
		c := generateConformance(t)
		data, _ := json.MarshalIndent(c, "", "  ")
		if err := os.WriteFile(conformancePath, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := readConformance(t)
	v := New(c.loadState(t), Options{})
	seen := map[Code]bool{}
	for _, tc := range c.Cases {
		got := v.Verify(tc.Text, c.Now)
		seen[got.Code] = true
		if got.Code != tc.Want {
			t.Errorf("%s: got %s (%s), want %s", tc.Name, got.Code, got.Detail, tc.Want)
		}
		if got.Message == "" || got.MessageEN == "" {
			t.Errorf("%s: no message", tc.Name)
		}
		if got.Code.OK() && (got.Licence == nil || got.Agency == "") {
			t.Errorf("%s: accepted without licence or agency", tc.Name)
		}
	}
	for _, want := range Codes {
		if want != NoTrust && !seen[want] {
			t.Errorf("no conformance case gives %s", want)
		}
	}
}

func readConformance(t testing.TB) *Conformance {
	t.Helper()
	data, err := os.ReadFile(conformancePath)
	if err != nil {
		t.Fatal(err)
	}
	var c Conformance
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// confNow is the conformance set's clock: a fixed day in the past so the
// file stays valid.
var confNow = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// must panics on an error: test set-up only.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// payload is the CBOR payload of a token text.
func payload(t testing.TB, text string) []byte {
	t.Helper()
	_, rest, _ := strings.Cut(text, ":")
	raw := must(base45.Decode(rest))
	if raw[0] == 0x78 {
		zr := must(zlib.NewReader(bytes.NewReader(raw)))
		raw = must(io.ReadAll(zr))
	}
	return raw
}

// stripDevice turns a version 2 presentation into a static token of the
// same core: what a photocopy of a bound licence's QR would be. (A
// version 2 payload is the body followed by the device signature.)
func stripDevice(t testing.TB, text string) string {
	t.Helper()
	var body []cbor.RawMessage
	if _, err := cbor.UnmarshalFirst(payload(t, text), &body); err != nil {
		t.Fatal(err)
	}
	body[4] = cbor.RawMessage{0x00}
	em := must(cbor.CoreDetEncOptions().EncMode())
	return qr.Prefix + base45.Encode(must(em.Marshal(body)))
}

// rewriteCore edits the core of a version 2 static token and signs it
// again with key: an issuer (or a thief of its key) making a core
// another way. With v1 set the result is a version 1 token (the signing
// time is removed).
func rewriteCore(t testing.TB, text string, key *gm.PrivateKey, v1 bool, edit func(core map[int]cbor.RawMessage)) string {
	t.Helper()
	var body []cbor.RawMessage
	if _, err := cbor.UnmarshalFirst(payload(t, text), &body); err != nil {
		t.Fatal(err)
	}
	var coreBytes []byte
	if err := cbor.Unmarshal(body[0], &coreBytes); err != nil {
		t.Fatal(err)
	}
	var core map[int]cbor.RawMessage
	if err := cbor.Unmarshal(coreBytes, &core); err != nil {
		t.Fatal(err)
	}
	if v1 {
		delete(core, 12)
	}
	if edit != nil {
		edit(core)
	}
	em := must(cbor.CoreDetEncOptions().EncMode())
	coreBytes = must(em.Marshal(core))
	body[0] = must(em.Marshal(coreBytes))
	body[2] = must(em.Marshal(must(gm.SignRS(key, append([]byte("elicense/qr/core/v1\x00"), coreBytes...)))))
	nb := must(em.Marshal(body))
	if v1 {
		return qr.PrefixV1 + base45.Encode(must(em.Marshal([2][]byte{nb, {}})))
	}
	return qr.Prefix + base45.Encode(nb)
}

func generateConformance(t *testing.T) *Conformance {
	now := confNow
	w := must(testpki.New(now))
	c := &Conformance{Note: "generated by go test ./verifier -run TestConformance -update; every case is checked in order by one verifier at now", Now: now, Lists: map[string]string{}}
	add := func(name, text string, want Code) { c.Cases = append(c.Cases, Case{name, text, want}) }
	issue := func(a *testpki.Agency, class, list string, idx uint64, bound bool, edit func(map[string]string)) *testpki.Licence {
		return must(w.Issue(a, class, list, idx, bound, edit))
	}
	static := func(l *testpki.Licence, disclose ...string) string { return must(l.Holding.Static(disclose...)) }
	present := func(l *testpki.Licence, at time.Time, disclose ...string) string {
		return must(l.Holding.Present(l.Device, at, disclose...))
	}
	amr := w.Lists["amr-1"].List

	bl := issue(w.Market, "business-license", "amr-1", 1, false, nil)
	add("static business licence", static(bl), ValidStatic)
	add("static with an optional field and the credential digest", static(bl, "domicile", qr.DiscloseCredential), ValidStatic)
	dl := issue(w.Police, "drivers-license", "gab-1", 1, true, nil)
	p := present(dl, now.Add(-5*time.Second))
	add("bound driving licence presentation", p, Valid)
	add("the same presentation again", p, Replayed)
	add("presentation disclosing the address", present(dl, now.Add(-4*time.Second), "address"), Valid)
	add("presentation 20 s in the future (inside skew)", present(dl, now.Add(20*time.Second)), Valid)
	mc := issue(w.Civil, "marriage-certificate", "mz-1", 7, true, nil)
	add("bound marriage certificate", present(mc, now.Add(-1*time.Second)), Valid)

	for idx, st := range map[uint64]statuslist.Status{2: statuslist.Revoked, 3: statuslist.Suspended, 4: statuslist.Superseded} {
		if err := amr.Set(int(idx), st); err != nil {
			t.Fatal(err)
		}
	}
	add("revoked business licence", static(issue(w.Market, "business-license", "amr-1", 2, false, nil)), Revoked)
	add("suspended business licence", static(issue(w.Market, "business-license", "amr-1", 3, false, nil)), Suspended)
	add("superseded business licence", static(issue(w.Market, "business-license", "amr-1", 4, false, nil)), Superseded)
	if err := w.Lists["gab-1"].List.Set(9, statuslist.Revoked); err != nil {
		t.Fatal(err)
	}
	rdl := issue(w.Police, "drivers-license", "gab-1", 9, true, nil)
	add("revoked bound driving licence", present(rdl, now.Add(-2*time.Second)), Revoked)

	add("expired driving licence", static(issue(w.Police, "drivers-license", "gab-1", 10, false, func(f map[string]string) {
		f["valid_term"] = "2012-07-15至2018-07-15"
	})), Expired)
	add("driving licence valid from 2030", static(issue(w.Police, "drivers-license", "gab-1", 11, false, func(f map[string]string) {
		f["valid_term"] = "2030-07-15至2036-07-15"
	})), NotYetValid)
	add("signed by a key the bundle does not list", static(issue(w.Outsider, "business-license", "amr-1", 12, false, nil)), UnknownIssuer)
	add("signed by a compromised key after its compromise", static(issue(w.Compromised, "business-license", "amr-1", 13, false, nil)), KeyCompromised)
	before := w.CompromisedSince().Add(-24 * time.Hour)
	genuine := must(w.IssueAt(w.Compromised, "business-license", "amr-1", 15, false, before, nil))
	if err := w.MarkGenuine(genuine); err != nil {
		t.Fatal(err)
	}
	add("compromised key, a licence it signed before (in its genuine set)", static(genuine), ValidStatic)
	madeUp := func(f map[string]string) { f["name"] = "上海虚构贸易有限公司" }
	add("compromised key, a thief's backdated licence at a genuine licence's status position",
		static(must(w.IssueAt(w.Compromised, "business-license", "amr-1", 15, false, before.Add(time.Hour), madeUp))), KeyCompromised)
	add("compromised key, a thief's backdated licence at a new status position",
		static(must(w.IssueAt(w.Compromised, "business-license", "amr-1", 16, false, before.Add(time.Hour), madeUp))), KeyCompromised)
	add("compromised key, a thief's version 1 licence (no signing time) at a genuine position",
		rewriteCore(t, static(must(w.IssueAt(w.Compromised, "business-license", "amr-1", 15, false, before, madeUp))), w.Compromised.Key, true, nil), KeyCompromised)
	add("retired key, signed before its retirement", static(must(w.IssueAt(w.Retired, "business-license", "amr-1", 17, false, w.RetiredSince().Add(-time.Hour), nil))), ValidStatic)
	add("retired key, signed after its retirement", static(must(w.IssueAt(w.Retired, "business-license", "amr-1", 18, false, w.RetiredSince().Add(time.Hour), nil))), KeyRetired)
	add("retired key, version 1 token (no signing time)", rewriteCore(t, static(must(w.IssueAt(w.Retired, "business-license", "amr-1", 19, false, w.RetiredSince().Add(-time.Hour), nil))), w.Retired.Key, true, nil), KeyRetired)
	add("active key, version 1 token (made before signing times)", rewriteCore(t, static(bl), w.Market.Key, true, nil), ValidStatic)
	add("signed before the key's certificate was valid", static(must(w.IssueAt(w.Market, "business-license", "amr-1", 20, false, now.Add(-48*time.Hour), nil))), Expired)
	noStatus := func(core map[int]cbor.RawMessage) { delete(core, 6); delete(core, 7) }
	add("a licence naming no status list", rewriteCore(t, static(bl), w.Market.Key, false, noStatus), Malformed)
	add("a version 1 licence naming no status list", rewriteCore(t, static(bl), w.Market.Key, true, noStatus), Malformed)
	add("business licence signed by the police", static(issue(w.Police, "business-license", "gab-1", 14, false, nil)), ClassNotAllowedForIssuer)

	forged := must(qr.Build(bl.Licence, bl.JWS, qr.BuildOptions{Signer: w.Outsider.Key, KeyID: w.Market.KID, StatusList: "amr-1"}))
	add("forged: another key under the market key's ID", must(forged.Static()), BadSignature)
	tampered := *bl.Holding
	tampered.Optional = append([]qr.OptionalField(nil), bl.Holding.Optional...)
	for i := range tampered.Optional {
		if tampered.Optional[i].Key == "domicile" {
			tampered.Optional[i].Value = "上海市黄浦区人民大道200号"
		}
	}
	add("disclosed address changed", must(tampered.Static("domicile")), BadDisclosure)

	other := must(gm.GenerateKey())
	add("presentation signed by another device", must(dl.Holding.Present(other, now.Add(-3*time.Second))), HolderBindingFailed)
	add("bound licence with the device signature stripped", stripDevice(t, present(dl, now.Add(-6*time.Second))), HolderBindingFailed)
	add("presentation 5 minutes old", present(dl, now.Add(-5*time.Minute)), PresentationExpired)
	add("presentation 5 minutes in the future", present(dl, now.Add(5*time.Minute)), PresentationExpired)

	add("business licence on a 2-day-old list (fail closed)", static(issue(w.Market, "business-license", "amr-stale", 1, false, nil)), StatusStale)
	add("marriage certificate on a 10-day-old list (warn)", present(issue(w.Civil, "marriage-certificate", "mz-stale", 1, true, nil), now.Add(-time.Second)), Valid)
	add("status index past the list", static(issue(w.Market, "business-license", "amr-1", 5000, false, nil)), StatusUnavailable)
	add("status list the bundle does not name", static(issue(w.Market, "business-license", "zz-9", 1, false, nil)), StatusUnavailable)
	add("status list of another agency", static(issue(w.Market, "business-license", "gab-1", 2, false, nil)), StatusUnavailable)

	good := static(bl)
	add("empty", "", Malformed)
	add("plain text", "hello", Malformed)
	add("prefix only", "EL2:", Malformed)
	add("version 1 prefix only", "EL1:", Malformed)
	add("not Base45", "EL2:!!!!", Malformed)
	add("truncated", good[:len(good)/2], Malformed)
	add("truncated by one character", good[:len(good)-1], Malformed)
	add("oversized", "EL2:"+strings.Repeat("0", 5000), Malformed)
	add("wrong prefix", "HC1:"+good[4:], Malformed)
	add("lower-case prefix", "el2:"+good[4:], Malformed)
	add("version 3", "EL3:"+good[4:], UnsupportedVersion)
	add("version 2 payload under the version 1 prefix", "EL1:"+good[4:], Malformed)
	add("version 10", "EL10:ABC", UnsupportedVersion)
	add("Base45 of random bytes", "EL2:"+base45.Encode([]byte("not cbor at all, just bytes")), Malformed)
	add("trailing garbage", good+"00", Malformed)
	// Bit flips in the middle of the text: whatever they give, never a pass.
	for _, pos := range []int{10, len(good) / 3, len(good) / 2, len(good) - 10} {
		b := []byte(good)
		b[pos] = "0123456789"[(strings.IndexByte("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", b[pos])+1)%10]
		if b[pos] == good[pos] {
			b[pos] = 'Z'
		}
		add("character flipped at "+strconv.Itoa(pos), string(b), "") // filled in below
	}

	// Sign the trust data with the final lists.
	c.Root = string(w.RootPEM())
	c.Bundle = must(w.SignBundle(must(w.Bundle(1, now.Add(-time.Hour)))))
	for id := range w.Lists {
		c.Lists[id] = must(w.SignList(id))
	}
	c.Genuine = map[string][]byte{w.Compromised.KID: must(w.GenuineDoc())}
	v := New(c.loadState(t), Options{})
	for i := range c.Cases {
		got := v.Verify(c.Cases[i].Text, now)
		if c.Cases[i].Want == "" {
			if got.Code.OK() {
				t.Fatalf("%s: accepted", c.Cases[i].Name)
			}
			c.Cases[i].Want = got.Code
		}
	}
	return c
}

package ledgerevent

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

func testKey(t testing.TB) *AuditKey {
	t.Helper()
	secret := make([]byte, AuditKeySize)
	for i := range secret {
		secret[i] = byte(i)
	}
	k, err := NewAuditKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	t0     = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)
	cred   = Digest{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}
	cred2  = Digest{0xaa, 0xbb}
	device = mustHex("02" + strings.Repeat("5a", 32))
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// personal is the personal data of one sample: committed field → value.
type sample struct {
	name     string
	event    Event
	personal map[string][]byte
}

func samples(t testing.TB) []sample {
	k := testKey(t)
	const ag, id, op = "11310000PDY100010H", "1234567890123456789012345678901234567890", "clerk-张三"
	const rp, grant, copyID = "sh-scjg-food-permit", "g_EBESExQVFhcYGRobHB0eHw", id + "#0011223344556677"
	return []sample{
		{"issue", k.Issue(Issue{Time: t0, Agency: ag, ID: id, Credential: cred}, op), map[string][]byte{FieldOperator: []byte(op)}},
		{"reissue", k.Reissue(Reissue{Time: t0, Agency: ag, ID: id + "-2", Supersedes: id, Credential: cred2, Superseded: cred, From: StatusSuspended, Reason: "变更"}, op),
			map[string][]byte{FieldOperator: []byte(op)}},
		{"suspend", k.StatusChange(StatusChange{Time: t0, Agency: ag, ID: id, Credential: cred, From: StatusValid, To: StatusSuspended, Reason: "暂扣"}, op),
			map[string][]byte{FieldOperator: []byte(op)}},
		{"reinstate", k.StatusChange(StatusChange{Time: t0, Agency: ag, ID: id, Credential: cred, From: StatusSuspended, To: StatusValid}, op),
			map[string][]byte{FieldOperator: []byte(op)}},
		{"revoke", k.StatusChange(StatusChange{Time: t0, Agency: ag, ID: id, Credential: cred, From: StatusValid, To: StatusRevoked, Reason: "吊销"}, op),
			map[string][]byte{FieldOperator: []byte(op)}},
		{"unbind", k.Unbind(Unbind{Time: t0, Agency: ag, ID: id + "#0011223344556677", Credential: cred2, From: StatusValid, Reason: "遗失"}, op),
			map[string][]byte{FieldOperator: []byte(op)}},
		{"claim", k.Claim(Claim{Time: t0, Agency: ag, ID: id + "#0011223344556677", Credential: cred2}, device), map[string][]byte{FieldDevice: device}},
		{"seal-made", k.SealMade(SealMade{Time: t0, Agency: ag, ESID: "31011500000000012345", Seal: cred}, "110101199003078515", "王小明", op),
			map[string][]byte{FieldHolderCode: []byte("110101199003078515"), FieldHolderName: []byte("王小明"), FieldOperator: []byte(op)}},
		{"seal-revoked", k.SealRevoked(SealRevoked{Time: t0, Agency: ag, ESID: "31011500000000012345", Reason: "遗失"}, op), map[string][]byte{FieldOperator: []byte(op)}},
		{"key-rotated", k.KeyRotated(KeyRotated{Time: t0, Agency: ag, KeyID: "3f2a9c0d11e4b7a5", Previous: "0011223344556677"}, "elicense key rotate"),
			map[string][]byte{FieldOperator: []byte("elicense key rotate")}},
		{"key-compromised", k.KeyCompromised(KeyCompromised{Time: t0, Agency: ag, KeyID: "0011223344556677", Since: t0.Add(-time.Hour), Genuine: cred}, "elicense key compromise"),
			map[string][]byte{FieldOperator: []byte("elicense key compromise")}},
		{"rp-registered", k.RPRegistered(RPRegistered{Time: t0, Agency: ag, RP: rp, Key: cred, Registration: cred2}, "admin-李四"),
			map[string][]byte{FieldOperator: []byte("admin-李四")}},
		{"rp-suspended", k.RPStatus(RPStatus{Time: t0, Agency: ag, RP: rp, State: RPSuspended, Reason: "超范围调取"}, "admin-李四"),
			map[string][]byte{FieldOperator: []byte("admin-李四")}},
		{"rp-removed", k.RPStatus(RPStatus{Time: t0, Agency: ag, RP: rp, State: RPRemoved}, "admin-李四"),
			map[string][]byte{FieldOperator: []byte("admin-李四")}},
		{"grant", k.Grant(Grant{Time: t0, Agency: ag, Grant: grant, RP: rp, Matter: "310100001000", Fields: "name,legal_rep,domicile",
			NotAfter: t0.Add(7 * 24 * time.Hour), Use: UseOnce, Consent: cred}, copyID),
			map[string][]byte{FieldLicence: []byte(copyID)}},
		{"grant-use", &GrantUse{Time: t0, Agency: ag, Grant: grant, RP: rp}, map[string][]byte{}},
		{"grant-revoked", &GrantRevoked{Time: t0, Agency: ag, Grant: grant, RP: rp, By: ByHolder}, map[string][]byte{}},
		{"counter-verified", k.CounterVerified(CounterVerified{Time: t0, Agency: ag, Receipt: "AAECAwQFBgcICQoLDA0ODw", Counter: "浦东新区市民中心 3号窗口",
			Verdict: "VALID", At: t0.Add(-time.Hour), Licence: Commitment{}}, copyID),
			map[string][]byte{FieldLicence: []byte(copyID)}},
		{"archive-exported", k.ArchiveExported(ArchiveExported{Time: t0, Agency: ag, From: t0.Add(-30 * 24 * time.Hour), To: t0.Add(-time.Hour),
			Count: 100000, Manifest: cred}, "admin-李四"),
			map[string][]byte{FieldOperator: []byte("admin-李四")}},
	}
}

type vector struct {
	Name     string               `json:"name"`
	Kind     string               `json:"kind"`
	Hex      string               `json:"hex"`
	Event    json.RawMessage      `json:"event"`
	Openings map[string][2]string `json:"openings"` // field → [salt hex, value hex]
}

// TestVectors checks every kind against testdata/vectors.json: the
// encoding, the decoded event's JSON view, and an opening of every
// commitment made with the test audit key (bytes 0..31).
func TestVectors(t *testing.T) {
	k := testKey(t)
	var got []vector
	for _, s := range samples(t) {
		b, err := Encode(s.event)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		view, err := json.Marshal(s.event)
		if err != nil {
			t.Fatal(err)
		}
		v := vector{Name: s.name, Kind: s.event.Kind().String(), Hex: hex.EncodeToString(b), Event: view, Openings: map[string][2]string{}}
		for _, f := range CommittedFields(s.event) {
			o, err := k.Open(s.event, f, s.personal[f])
			if err != nil {
				t.Fatalf("%s: open %s: %v", s.name, f, err)
			}
			v.Openings[f] = [2]string{hex.EncodeToString(o.Salt[:]), hex.EncodeToString(o.Value)}
		}
		if len(v.Openings) != len(s.personal) {
			t.Fatalf("%s: %d commitments, %d personal values", s.name, len(v.Openings), len(s.personal))
		}
		got = append(got, v)
	}
	path := filepath.Join("testdata", "vectors.json")
	if *update {
		out, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []vector
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d vectors, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Hex != w.Hex || g.Kind != w.Kind || !jsonEqual(t, g.Event, w.Event) || !reflect.DeepEqual(g.Openings, w.Openings) {
			t.Errorf("vector %s changed:\n got %+v\nwant %+v", w.Name, g, w)
		}
		// Decoding the golden bytes gives the event, and its openings
		// verify without the audit key.
		e, err := Decode(mustHex(w.Hex))
		if err != nil {
			t.Fatalf("%s: %v", w.Name, err)
		}
		if view, _ := json.Marshal(e); !jsonEqual(t, view, w.Event) {
			t.Errorf("%s: decoded %s, want %s", w.Name, view, w.Event)
		}
		for f, sv := range w.Openings {
			o := Opening{Field: f, Salt: [SaltSize]byte(mustHex(sv[0])), Value: mustHex(sv[1])}
			if err := VerifyOpening(e, o); err != nil {
				t.Errorf("%s: %v", w.Name, err)
			}
			o.Value = append(o.Value, 'x')
			if err := VerifyOpening(e, o); !errors.Is(err, ErrOpening) {
				t.Errorf("%s: a wrong value opened %s: %v", w.Name, f, err)
			}
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func TestRoundTrip(t *testing.T) {
	for _, s := range samples(t) {
		b, err := Encode(s.event)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > MaxLen {
			t.Errorf("%s: %d bytes > MaxLen %d", s.name, len(b), MaxLen)
		}
		e, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !reflect.DeepEqual(e, s.event) {
			t.Errorf("%s: decoded %+v, want %+v", s.name, e, s.event)
		}
		// No personal value appears in the encoding.
		for f, v := range s.personal {
			if bytes.Contains(b, v) {
				t.Errorf("%s: the encoding contains the %s", s.name, f)
			}
		}
		// Every truncation and every extension is refused.
		for n := range len(b) {
			if _, err := Decode(b[:n]); err == nil {
				t.Fatalf("%s: truncated to %d bytes decoded", s.name, n)
			}
		}
		if _, err := Decode(append(b, 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: a trailing byte: %v", s.name, err)
		}
	}
}

func TestSaltsDiffer(t *testing.T) {
	k := testKey(t)
	a := k.Issue(Issue{Time: t0, Agency: "A", ID: "X", Credential: cred}, "clerk")
	b := k.Issue(Issue{Time: t0.Add(time.Nanosecond), Agency: "A", ID: "X", Credential: cred}, "clerk")
	c := k.Issue(Issue{Time: t0, Agency: "A", ID: "Y", Credential: cred}, "clerk")
	if a.Operator == b.Operator || a.Operator == c.Operator || b.Operator == c.Operator {
		t.Fatal("one operator in three events gives equal commitments: events are linkable")
	}
	if k.Salt(KindIssue, "X", t0, FieldOperator) == k.Salt(KindStatus, "X", t0, FieldOperator) {
		t.Fatal("the kind does not enter the salt")
	}
	if k.Salt(KindSealMade, "X", t0, FieldHolderCode) == k.Salt(KindSealMade, "X", t0, FieldHolderName) {
		t.Fatal("the field does not enter the salt")
	}
	other, _ := NewAuditKey(bytes.Repeat([]byte{7}, AuditKeySize))
	if _, err := other.Open(a, FieldOperator, []byte("clerk")); !errors.Is(err, ErrOpening) {
		t.Fatalf("another audit key opened the commitment: %v", err)
	}
	if _, err := k.Open(a, FieldDevice, nil); !errors.Is(err, ErrNoField) {
		t.Fatalf("an issue opened a device field: %v", err)
	}
	if _, err := NewAuditKey(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte audit key was accepted")
	}
}

func TestEncodeRefuses(t *testing.T) {
	k := testKey(t)
	long := strings.Repeat("x", MaxIDLen+1)
	cases := []struct {
		name string
		e    Event
		want string
	}{
		{"nil", nil, "no event"},
		{"no commitment", &Issue{Time: t0, Agency: "A", ID: "X"}, "operator: commitment not made"},
		{"no agency", k.Issue(Issue{Time: t0, ID: "X"}, "op"), "agency: empty"},
		{"no time", k.Issue(Issue{Agency: "A", ID: "X"}, "op"), "time:"},
		{"long id", k.Issue(Issue{Time: t0, Agency: "A", ID: long}, "op"), "id: 257 bytes"},
		{"bad utf8", k.Issue(Issue{Time: t0, Agency: "A", ID: "\xff"}, "op"), "id: not valid UTF-8"},
		{"revoked to valid", k.StatusChange(StatusChange{Time: t0, Agency: "A", ID: "X", From: StatusRevoked, To: StatusValid}, "op"), "no change from revoked to valid"},
		{"valid to valid", k.StatusChange(StatusChange{Time: t0, Agency: "A", ID: "X", From: StatusValid, To: StatusValid}, "op"), "no change"},
		{"status 0", k.StatusChange(StatusChange{Time: t0, Agency: "A", ID: "X", To: StatusRevoked}, "op"), "from: unknown status 0"},
		{"unbind a licence", k.Unbind(Unbind{Time: t0, Agency: "A", ID: "X", From: StatusValid}, "op"), "not a device copy"},
		{"claim a licence", k.Claim(Claim{Time: t0, Agency: "A", ID: "X"}, device), "not a device copy"},
		{"reissue itself", k.Reissue(Reissue{Time: t0, Agency: "A", ID: "X", Supersedes: "X", From: StatusValid}, "op"), "supersedes itself"},
		{"reissue revoked", k.Reissue(Reissue{Time: t0, Agency: "A", ID: "X2", Supersedes: "X", From: StatusRevoked}, "op"), "cannot be re-issued"},
		{"seal revoke without reason", k.SealRevoked(SealRevoked{Time: t0, Agency: "A", ESID: "S"}, "op"), "reason: empty"},
		{"key replaces itself", k.KeyRotated(KeyRotated{Time: t0, Agency: "A", KeyID: "K", Previous: "K"}, "op"), "replaces itself"},
		{"rp state 0", k.RPStatus(RPStatus{Time: t0, Agency: "A", RP: "p"}, "op"), "state: unknown code 0"},
		{"rp state 4", k.RPStatus(RPStatus{Time: t0, Agency: "A", RP: "p", State: 4}, "op"), "state: unknown code 4"},
		{"grant use 3", k.Grant(Grant{Time: t0, Agency: "A", Grant: "g", RP: "p", Matter: "m", NotAfter: t0, Fields: "name", Use: 3}, "l#t"), "use: unknown code 3"},
		{"grant without fields", k.Grant(Grant{Time: t0, Agency: "A", Grant: "g", RP: "p", Matter: "m", NotAfter: t0, Use: UseOnce}, "l#t"), "fields: empty"},
		{"grant field upper case", k.Grant(Grant{Time: t0, Agency: "A", Grant: "g", RP: "p", Matter: "m", NotAfter: t0, Fields: "name,Legal", Use: UseOnce}, "l#t"), "not a field key"},
		{"grant field empty", k.Grant(Grant{Time: t0, Agency: "A", Grant: "g", RP: "p", Matter: "m", NotAfter: t0, Fields: "name,", Use: UseOnce}, "l#t"), "not a field key"},
		{"grant field twice", k.Grant(Grant{Time: t0, Agency: "A", Grant: "g", RP: "p", Matter: "m", NotAfter: t0, Fields: "name,name", Use: UseOnce}, "l#t"), "twice"},
		{"grant licence not committed", &Grant{Time: t0, Agency: "A", Grant: "g", RP: "p", Matter: "m", NotAfter: t0, Fields: "name", Use: UseOnce}, "licence: commitment not made"},
		{"revoked by 0", &GrantRevoked{Time: t0, Agency: "A", Grant: "g", RP: "p"}, "by: unknown code 0"},
		{"revoked by 3", &GrantRevoked{Time: t0, Agency: "A", Grant: "g", RP: "p", By: 3}, "by: unknown code 3"},
		{"rp id too long", &GrantUse{Time: t0, Agency: "A", Grant: "g", RP: strings.Repeat("p", MaxRPLen+1)}, "rp: 65 bytes"},
		{"no verdict", k.CounterVerified(CounterVerified{Time: t0, Agency: "A", Receipt: "r", Counter: "c"}, "l"), "verdict: empty"},
		{"compromised in the future", k.KeyCompromised(KeyCompromised{Time: t0, Agency: "A", KeyID: "K", Since: t0.Add(time.Second)}, "op"), "since:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Encode(c.e)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrMalformed containing %q", err, c.want)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	good, err := Encode(samples(t)[0].event)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrMalformed, "0 bytes"},
		{"format 1", mod(func(b []byte) []byte { b[0] = 1; return b }), ErrFormat1, ""},
		{"format 3", mod(func(b []byte) []byte { b[0] = 3; return b }), ErrMalformed, "format 3"},
		{"kind 0", mod(func(b []byte) []byte { b[1] = 0; return b }), ErrMalformed, "unknown kind 0"},
		{"kind 17", mod(func(b []byte) []byte { b[1] = 17; return b }), ErrMalformed, "unknown kind 17"},
		{"agency length too long", mod(func(b []byte) []byte { b[10], b[11] = 0, MaxAgencyLen+1; return b }), ErrMalformed, "agency: 65 bytes"},
		{"agency empty", mod(func(b []byte) []byte { b[10], b[11] = 0, 0; return b }), ErrMalformed, "agency"},
		{"zero commitment", mod(func(b []byte) []byte { clear(b[len(b)-DigestSize:]); return b }), ErrMalformed, "commitment not made"},
		{"trailing", append(bytes.Clone(good), 1), ErrMalformed, "trailing"},
		{"v1 entry", mustHex("0101"), ErrFormat1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.in)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want %v containing %q", err, c.want, c.msg)
			}
		})
	}
	var fe *FieldError
	if _, err := Decode(cases[5].in); !errors.As(err, &fe) || fe.Field != "agency" || fe.Kind != KindIssue {
		t.Fatalf("FieldError %+v", fe)
	}
}

// FuzzDecode checks that Decode never panics, and that whatever it
// accepts is canonical: it encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range samples(f) {
		b, err := Encode(s.event)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{1, 1})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			if e != nil {
				t.Fatal("an event with an error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrFormat1) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := Encode(e)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", e, err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, again)
		}
		if len(b) > MaxLen {
			t.Fatalf("%d bytes decoded, MaxLen is %d", len(b), MaxLen)
		}
	})
}

func TestKindAndStatusText(t *testing.T) {
	for k := KindIssue; k.Valid(); k++ {
		b, _ := k.MarshalText()
		var got Kind
		if err := got.UnmarshalText(b); err != nil || got != k {
			t.Errorf("kind %d: %q gives %d, %v", k, b, got, err)
		}
	}
	for s := StatusValid; s.Valid(); s++ {
		b, _ := s.MarshalText()
		var got Status
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Errorf("status %d: %q gives %d, %v", s, b, got, err)
		}
	}
	for _, v := range []interface {
		MarshalText() ([]byte, error)
	}{RPActive, RPSuspended, RPRemoved, UseOnce, UseRepeat, ByHolder, ByRelyingParty} {
		b, _ := v.MarshalText()
		var err error
		switch v := v.(type) {
		case RPState:
			var got RPState
			err = got.UnmarshalText(b)
			if got != v {
				err = errors.New("differs")
			}
		case GrantUseLimit:
			var got GrantUseLimit
			err = got.UnmarshalText(b)
			if got != v {
				err = errors.New("differs")
			}
		case RevokedBy:
			var got RevokedBy
			err = got.UnmarshalText(b)
			if got != v {
				err = errors.New("differs")
			}
		}
		if err != nil {
			t.Errorf("%v: %q: %v", v, b, err)
		}
	}
	var st RPState
	if st.UnmarshalText([]byte("rp-state(0)")) == nil || RPState(4).Valid() || GrantUseLimit(3).Valid() || RevokedBy(0).Valid() {
		t.Error("an unknown code parsed")
	}
	var k Kind
	if k.UnmarshalText([]byte("kind(0)")) == nil || Kind(0).Valid() || Kind(17).Valid() {
		t.Error("an unknown kind parsed")
	}
}

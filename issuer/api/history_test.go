package api

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"elicense/internal/ledger/tlog"
	"elicense/issuer/service"
)

// historyReply is what the tests read of GET /v1/licences/{id}/history.
type historyReply struct {
	ID         string `json:"id"`
	Checkpoint struct {
		Size uint64 `json:"size"`
		Root string `json:"root"`
	} `json:"checkpoint"`
	Events []struct {
		Index    uint64   `json:"index"`
		Kind     string   `json:"kind"`
		Subject  string   `json:"subject"`
		Raw      string   `json:"raw"`
		LeafHash string   `json:"leaf_hash"`
		Proof    []string `json:"proof"`
		Verified bool     `json:"verified"`
		Pending  bool     `json:"pending"`
	} `json:"events"`
}

// historyLicence makes a licence with a life: issued, suspended,
// reinstated, claimed on a device whose copy is then unbound, and
// re-issued. It returns the old and new identifiers, the copy's, and the
// ledger indexes of the old one's events.
func historyLicence(t *testing.T, s *testServer, tok string) (old, next, copyID string) {
	t.Helper()
	var lic licenceView
	if st := s.do(t, "POST", "/v1/licences", tok, ctJSON, issueJSON(t, "business-license"), &lic); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	path := "/v1/licences/" + url.PathEscape(lic.ID)
	for _, step := range []struct{ action, body string }{{"suspend", `{"reason":"核查"}`}, {"reinstate", `{}`}} {
		if st := s.do(t, "POST", path+"/"+step.action, tok, ctJSON, step.body, nil); st != 200 {
			t.Fatalf("%s: %d", step.action, st)
		}
	}
	_, cp, st := claimAs(t, s, lic.ClaimCode)
	if st != 201 {
		t.Fatalf("claim: %d", st)
	}
	if st := s.do(t, "POST", "/v1/licences/"+url.PathEscape(cp.ID)+"/unbind", tok, ctJSON, `{}`, nil); st != 200 {
		t.Fatalf("unbind: %d", st)
	}
	var re licenceView
	if st := s.do(t, "POST", path+"/reissue", tok, ctJSON, `{"fields":{"legal_rep":"王五"}}`, &re); st != 201 {
		t.Fatalf("reissue: %d", st)
	}
	return lic.ID, re.ID, cp.ID
}

// TestHistory: a licence's history lists its events in order, each with
// an inclusion proof that verifies against the checkpoint the answer
// names; the new version's history starts with the re-issue.
func TestHistory(t *testing.T) {
	s := newTestServer(t)
	own, _ := s.pki.AgencyForClass("business-license")
	tok := s.token(t, service.Operator{Subject: "op", Role: service.RoleOperator, Agency: own.Code})
	old, next, copyID := historyLicence(t, s, tok)
	waitSigned(t, s, 6) // issue, suspend, reinstate, claim, unbind, reissue

	for _, tc := range []struct {
		id       string
		kinds    []string
		subjects []string
	}{
		{old, []string{"issue", "status", "status", "claim", "unbind", "reissue"}, []string{old, old, old, copyID, copyID, next}},
		{next, []string{"reissue"}, []string{next}},
		{copyID, []string{"claim", "unbind"}, []string{copyID, copyID}},
	} {
		var h historyReply
		if st := s.do(t, "GET", "/v1/licences/"+url.PathEscape(tc.id)+"/history", tok, "", "", &h); st != 200 {
			t.Fatalf("history of %s: %d", tc.id, st)
		}
		var kinds, subjects []string
		for _, e := range h.Events {
			kinds, subjects = append(kinds, e.Kind), append(subjects, e.Subject)
			checkProof(t, h, e.Index, e.Raw, e.LeafHash, e.Proof, e.Verified, e.Pending)
		}
		if !slices.Equal(kinds, tc.kinds) || !slices.Equal(subjects, tc.subjects) {
			t.Errorf("history of %s: kinds %v subjects %v, want %v %v", tc.id, kinds, subjects, tc.kinds, tc.subjects)
		}
	}
}

// waitSigned waits for a signed checkpoint of at least size entries.
func waitSigned(t *testing.T, s *testServer, size uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/v1/ledger/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		note, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lines := strings.Split(string(note), "\n")
		if len(lines) > 1 {
			if n, _ := strconv.ParseUint(lines[1], 10, 64); n >= size {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no signed checkpoint of %d entries: %q", size, note)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkProof checks one event's proof on its own, from the answer's
// checkpoint root, as a client would.
func checkProof(t *testing.T, h historyReply, index uint64, raw, leafB64 string, proof []string, verified, pending bool) {
	t.Helper()
	if pending || !verified {
		t.Errorf("event %d: verified %v pending %v against checkpoint %d", index, verified, pending, h.Checkpoint.Size)
		return
	}
	entry, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		t.Fatal(err)
	}
	leaf := tlog.SM3.HashLeaf(entry)
	if base64.StdEncoding.EncodeToString(leaf[:]) != leafB64 {
		t.Errorf("event %d: leaf hash %s is not SM3 of its entry", index, leafB64)
	}
	root := b64Hash(t, h.Checkpoint.Root)
	var ps []tlog.Hash
	for _, p := range proof {
		ps = append(ps, b64Hash(t, p))
	}
	if err := tlog.VerifyInclusion(leaf, index, h.Checkpoint.Size, ps, root); err != nil {
		t.Errorf("event %d: %v", index, err)
	}
}

// TestHistoryAndAgenciesScope: the two reads are scoped as the rest of
// the API: a token is needed, another agency's licence is not found, a
// counter token is refused, and each role sees the agencies it acts for.
func TestHistoryAndAgenciesScope(t *testing.T) {
	s := newTestServer(t)
	own, _ := s.pki.AgencyForClass("business-license")
	other, _ := s.pki.AgencyForClass("drivers-license")
	op := s.token(t, service.Operator{Subject: "op", Role: service.RoleOperator, Agency: own.Code})
	var lic licenceView
	if st := s.do(t, "POST", "/v1/licences", op, ctJSON, issueJSON(t, "business-license"), &lic); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	history := "/v1/licences/" + url.PathEscape(lic.ID) + "/history"
	for _, tc := range []struct {
		name       string
		op         *service.Operator
		history    int
		agencies   int
		nAgencies  int
		ownAgency  bool
		wantEvents int
	}{
		{"no token", nil, 401, 401, 0, false, 0},
		{"admin", &service.Operator{Subject: "a", Role: service.RoleAdmin}, 200, 200, len(s.pki.Agencies), true, 1},
		{"operator, own agency", &service.Operator{Subject: "o", Role: service.RoleOperator, Agency: own.Code}, 200, 200, 1, true, 1},
		{"operator, own agency, other classes", &service.Operator{Subject: "q", Role: service.RoleOperator, Agency: own.Code, Classes: []string{"food-operation-permit"}}, 200, 200, 1, true, 1},
		{"auditor, own agency", &service.Operator{Subject: "r", Role: service.RoleAuditor, Agency: own.Code}, 200, 200, 1, true, 1},
		{"operator, other agency", &service.Operator{Subject: "p", Role: service.RoleOperator, Agency: other.Code}, 404, 200, 1, false, 0},
		{"counter", &service.Operator{Subject: "c", Role: service.RoleCounter, Agency: own.Code}, 403, 403, 0, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := ""
			if tc.op != nil {
				tok = s.token(t, *tc.op)
			}
			var h historyReply
			if st := s.do(t, "GET", history, tok, "", "", &h); st != tc.history || len(h.Events) != tc.wantEvents {
				t.Errorf("history: %d with %d events, want %d with %d", st, len(h.Events), tc.history, tc.wantEvents)
			}
			var ags struct {
				Agencies []agencyView `json:"agencies"`
			}
			st := s.do(t, "GET", "/v1/agencies", tok, "", "", &ags)
			if st != tc.agencies || len(ags.Agencies) != tc.nAgencies {
				t.Fatalf("agencies: %d with %d, want %d with %d", st, len(ags.Agencies), tc.agencies, tc.nAgencies)
			}
			found := slices.IndexFunc(ags.Agencies, func(a agencyView) bool {
				return a.Code == own.Code && a.Name == own.Name && slices.Contains(a.Classes, "business-license")
			})
			if (found >= 0) != tc.ownAgency {
				t.Errorf("agencies %+v: own agency %s (%s) listed: %v, want %v", ags.Agencies, own.Code, own.Name, found >= 0, tc.ownAgency)
			}
		})
	}
}

func b64Hash(t *testing.T, s string) tlog.Hash {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(tlog.Hash{}) {
		t.Fatalf("hash %q: %v", s, err)
	}
	return tlog.Hash(b)
}

// TestSealList: the seals an agency made, newest first, revocation shown;
// scoped like the rest (own agency; an admin any; no token 401).
func TestSealList(t *testing.T) {
	s := newTestServer(t)
	own, _ := s.pki.AgencyForClass("business-license")
	other, _ := s.pki.AgencyForClass("drivers-license")
	admin := s.token(t, service.Operator{Subject: "a", Role: service.RoleAdmin})
	var esids []string
	for _, ag := range []string{own.Code, own.Code, other.Code} {
		var m struct{ ESID string }
		if st := s.do(t, "POST", "/v1/seals", admin, ctJSON, sealBody(t, ag), &m); st != 201 {
			t.Fatalf("make: %d", st)
		}
		esids = append(esids, m.ESID)
	}
	if st := s.do(t, "POST", "/v1/seals/"+esids[0]+"/revoke", admin, ctJSON, `{"reason":"遗失"}`, nil); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	type reply struct {
		Seals []struct {
			ESID       string `json:"esid"`
			Agency     string `json:"agency"`
			HolderCode string `json:"holder_code"`
			Reason     string `json:"reason"`
			RevokedAt  string `json:"revoked_at"`
		} `json:"seals"`
	}
	for _, tc := range []struct {
		name  string
		op    *service.Operator
		query string
		want  int
		esids []string
	}{
		{"no token", nil, "", 401, nil},
		{"admin, all", &service.Operator{Subject: "a", Role: service.RoleAdmin}, "", 200, []string{esids[2], esids[1], esids[0]}},
		{"admin, one agency", &service.Operator{Subject: "a", Role: service.RoleAdmin}, "?agency=" + own.Code, 200, []string{esids[1], esids[0]}},
		{"admin, unknown agency", &service.Operator{Subject: "a", Role: service.RoleAdmin}, "?agency=X", 404, nil},
		{"operator", &service.Operator{Subject: "o", Role: service.RoleOperator, Agency: own.Code}, "", 200, []string{esids[1], esids[0]}},
		{"auditor", &service.Operator{Subject: "r", Role: service.RoleAuditor, Agency: own.Code}, "?agency=" + own.Code, 200, []string{esids[1], esids[0]}},
		{"operator naming another agency", &service.Operator{Subject: "o", Role: service.RoleOperator, Agency: own.Code}, "?agency=" + other.Code, 403, nil},
		{"other agency's operator", &service.Operator{Subject: "p", Role: service.RoleOperator, Agency: other.Code}, "", 200, []string{esids[2]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := ""
			if tc.op != nil {
				tok = s.token(t, *tc.op)
			}
			var r reply
			st := s.do(t, "GET", "/v1/seals"+tc.query, tok, "", "", &r)
			var got []string
			for _, sl := range r.Seals {
				got = append(got, sl.ESID)
				if sl.HolderCode != "91110000600037341L" {
					t.Errorf("seal %s: holder code %q", sl.ESID, sl.HolderCode)
				}
				if revoked := sl.ESID == esids[0]; revoked != (sl.Reason == "遗失" && sl.RevokedAt != "") {
					t.Errorf("seal %s: revoked %q at %q", sl.ESID, sl.Reason, sl.RevokedAt)
				}
			}
			if st != tc.want || !slices.Equal(got, tc.esids) {
				t.Errorf("GET /v1/seals%s = %d %v, want %d %v", tc.query, st, got, tc.want, tc.esids)
			}
		})
	}
}

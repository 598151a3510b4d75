package api

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"elicense/certs/receipt"
	"elicense/issuer/service"
)

func TestReceiptsOverHTTP(t *testing.T) {
	s := newTestServer(t)
	ag, _ := s.pki.AgencyForClass("business-license")
	op := s.token(t, service.Operator{Subject: "op1", Role: service.RoleOperator, Agency: ag.Code})
	counter := s.token(t, service.Operator{Subject: "浦东新区市民中心 3号窗口", Role: service.RoleCounter, Agency: ag.Code})
	var lic licenceView
	if st := s.do(t, "POST", "/v1/licences", op, ctJSON, issueJSON(t, "business-license"), &lic); st != 201 {
		t.Fatalf("issue: %d", st)
	}
	pub := s.pki.Receipt.Cert.PublicKey.(*ecdsa.PublicKey)
	now := time.Now()
	mk := func(id string, pub *ecdsa.PublicKey) receipt.Receipt {
		r, err := receipt.New(pub, now, "VALID_STATIC", id, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	body := func(rs ...receipt.Receipt) string {
		b, _ := json.Marshal(receipt.Batch{Receipts: rs})
		return string(b)
	}
	good := mk(lic.ID, pub)
	const unheld = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
	other := mustKey(t)
	foreign := mk(lic.ID, other.PublicKey())

	// Only a counter token uploads, and a counter token does nothing else.
	if st := s.do(t, "POST", "/v1/receipts", op, ctJSON, body(good), nil); st != 403 {
		t.Fatalf("operator uploaded receipts: %d", st)
	}
	if st := s.do(t, "GET", "/v1/licences/"+lic.ID, counter, "", "", nil); st != 403 {
		t.Fatalf("counter read a licence: %d", st)
	}
	if st := s.do(t, "POST", "/v1/licences", counter, ctJSON, issueJSON(t, "business-license"), nil); st != 403 {
		t.Fatalf("counter issued a licence: %d", st)
	}

	// Receipts the platform cannot place are counted and dropped, with
	// nothing written: a licence it does not hold, a licence sealed to
	// another key.
	size := ledgerSize(t, s)
	var ans receipt.Answer
	if st := s.do(t, "POST", "/v1/receipts", counter, ctJSON, body(mk(unheld, pub), foreign), &ans); st != 200 ||
		ans != (receipt.Answer{Unknown: 2}) {
		t.Fatalf("upload: %d %+v", st, ans)
	}
	if got := ledgerSize(t, s); got != size {
		t.Fatalf("unknown receipts wrote %d ledger entries", got-size)
	}

	// Accepted: one counter-verified entry; the same batch again (a lost
	// answer) is all duplicates and writes nothing.
	if st := s.do(t, "POST", "/v1/receipts", counter, ctJSON, body(good), &ans); st != 200 ||
		ans != (receipt.Answer{Accepted: 1}) {
		t.Fatalf("upload: %d %+v", st, ans)
	}
	if got := ledgerSize(t, s); got != size+1 {
		t.Fatalf("an accepted receipt wrote %d ledger entries", got-size)
	}
	var entry struct {
		Kind  string          `json:"kind"`
		Event json.RawMessage `json:"event"`
	}
	if st := s.do(t, "GET", fmt.Sprintf("/v1/ledger/entries/%d", size), "", "", "", &entry); st != 200 ||
		entry.Kind != "counter-verified" || !strings.Contains(string(entry.Event), good.ID) ||
		strings.Contains(string(entry.Event), lic.ID) {
		t.Fatalf("entry %d: %d %s %s", size, st, entry.Kind, entry.Event)
	}
	if st := s.do(t, "POST", "/v1/receipts", counter, ctJSON, body(good), &ans); st != 200 ||
		ans != (receipt.Answer{Duplicates: 1}) {
		t.Fatalf("upload again: %d %+v", st, ans)
	}
	if got := ledgerSize(t, s); got != size+1 {
		t.Fatalf("a duplicate wrote %d ledger entries", got-size-1)
	}

	var e errBody
	for name, tc := range map[string]struct {
		body  string
		field string
	}{
		"empty batch":   {`{"receipts":[]}`, "receipts"},
		"a name inside": {`{"receipts":[{"id":"` + good.ID + `","at":1,"verdict":"VALID","licence":"` + good.Licence + `","name":"张三"}]}`, "receipts[0].name"},
		"bad id":        {`{"receipts":[{"id":"x","at":1,"verdict":"VALID","licence":"` + good.Licence + `"}]}`, "receipts[0].id"},
	} {
		if st := s.do(t, "POST", "/v1/receipts", counter, ctJSON, tc.body, &e); st != 422 || e.Field != tc.field {
			t.Errorf("%s: %d %+v", name, st, e)
		}
	}
	if st := s.do(t, "POST", "/v1/receipts", counter, "text/plain", body(good), nil); st != 415 {
		t.Errorf("text/plain: %d", st)
	}
}

func ledgerSize(t *testing.T, s *testServer) uint64 {
	t.Helper()
	var r struct {
		Size uint64 `json:"ledger_size"`
	}
	if st := s.do(t, "GET", "/readyz", "", "", "", &r); st != 200 {
		t.Fatalf("readyz: %d", st)
	}
	return r.Size
}

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"elicense/verifier/counter"
)

// pageOFD uploads an OFD file to a running counter page and returns the
// document's verdict, its signatures' and whether revocation was checked.
func pageOFD(t *testing.T, base, token string, data []byte) (code string, sigs []string, revocation bool) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/ofd", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/ofd")
	req.Header.Set(counter.TokenHeader, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res counter.OFDResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 {
		t.Fatalf("ofd: %d %v", resp.StatusCode, err)
	}
	for _, s := range res.Signatures {
		sigs = append(sigs, string(s.Verdict))
	}
	return string(res.Code), sigs, res.RevocationChecked
}

package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/service"
	"elicense/issuer/state"
)

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// The tile and status-delta paths: what a static publication holds, served
// by the API.
func TestTilesAndDeltaPaths(t *testing.T) {
	var lg *ledger.Log[state.Tx]
	s := newTestServerOpts(t, true, func(o *Options) {
		lg = o.Ledger.(*ledger.Log[state.Tx])
		o.Tiles = func(ctx context.Context, tl tlog.Tile) ([]byte, error) {
			return ledger.ReadTile(ctx, lg.Store(), lg.Size(), tl)
		}
	})
	ag, _ := s.pki.AgencyForClass("business-license")
	admin := s.token(t, service.Operator{Subject: "admin", Role: service.RoleAdmin})
	body := strings.Replace(issueJSON(t, "business-license"), `"class"`, `"agency":"`+ag.Code+`","class"`, 1)
	var v licenceView
	for range 3 {
		if st := s.do(t, "POST", "/v1/licences", admin, ctJSON, body, &v); st != 201 {
			t.Fatalf("issue: %d", st)
		}
	}
	n := lg.Size()
	tl, _ := tlog.TileAt(n, 0, 0, false)
	st, data := get(t, s.URL+"/v1/ledger/"+tl.Path())
	if st != 200 || len(data) != int(n)*tlog.HashSize {
		t.Fatalf("%s: %d, %d bytes", tl.Path(), st, len(data))
	}
	tr := tlog.NewTileReader(tlog.SM3, n, func(ts []tlog.Tile) ([][]byte, error) { return [][]byte{data}, nil })
	if root, err := tlog.SM3.RootAt(n, tr); err != nil || root != func() tlog.Hash { r, _ := lg.RootAt(n); return r }() {
		t.Fatalf("root from the served tile: %v", err)
	}
	if st, b := get(t, s.URL+fmt.Sprintf("/v1/ledger/tile/entries/000.p/%d", n)); st != 200 || len(b) == 0 {
		t.Fatalf("entry bundle: %d", st)
	}
	for path, want := range map[string]int{
		"/v1/ledger/tile/0/000":                        404, // not full yet
		fmt.Sprintf("/v1/ledger/tile/0/000.p/%d", n+1): 404,
		"/v1/ledger/tile/0/0":                          400,
		"/v1/ledger/tile/9/000":                        400,
		"/v1/ledger/tile/0/000.p/0":                    400,
		"/v1/status-delta/nope/1":                      404,
		"/v1/status-delta/nope/x":                      400,
	} {
		if st := s.do(t, "GET", path, "", "", "", nil); st != want {
			t.Errorf("GET %s: %d, want %d", path, st, want)
		}
	}

	// Status delta: from the current version an empty body; from an
	// older one the signed delta.
	_, tok := get(t, s.URL+"/v1/trust")
	b, err := trust.Verify(string(tok), trust.VerifyOptions{Roots: []*gm.Certificate{s.pki.Root}})
	if err != nil || len(b.StatusLists) == 0 {
		t.Fatalf("bundle: %v", err)
	}
	sl := b.StatusLists[0]
	_, doc := get(t, s.URL+"/v1/status/"+sl.ID)
	cur, err := statuslist.Parse(string(doc), statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(sl.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if st, b := get(t, s.URL+fmt.Sprintf("/v1/status-delta/%s/%d", sl.ID, cur.Version)); st != 200 || len(b) != 0 {
		t.Fatalf("delta from the current version: %d, %d bytes", st, len(b))
	}
}

package csvimport

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"elicense/certs/catalog"
	"elicense/issuer/service"
)

// fakeIssuer answers batch issuances: a row whose 名称 contains "dup" is
// existing, one containing "refuse" is refused, the rest are issued. The
// first answer is a 503 when flaky is set.
func fakeIssuer(t *testing.T, flaky bool) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if flaky && n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/v1/licences" {
			t.Errorf("request %s %s %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		var body struct{ Licences []service.IssueRequest }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("body: %v", err)
		}
		var results []map[string]any
		for i, l := range body.Licences {
			if l.ImportKey == "" {
				t.Errorf("row %d sent without an import key", i)
			}
			switch name := l.Fields["name"]; {
			case strings.Contains(name, "refuse"):
				results = append(results, map[string]any{"index": i, "error": map[string]string{"code": "invalid", "message": "refused", "field": "name"}})
			case strings.Contains(name, "dup"):
				results = append(results, map[string]any{"index": i, "licence": map[string]any{"id": "x", "existing": true}})
			default:
				results = append(results, map[string]any{"index": i, "licence": map[string]any{"id": "y"}})
			}
		}
		w.WriteHeader(http.StatusMultiStatus)
		json.NewEncoder(w).Encode(map[string]any{"results": results})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestRun(t *testing.T) {
	cl, _ := catalog.Default().Lookup("business-license")
	sample := map[string]string{}
	if err := json.Unmarshal(samplesJSON(t), &sample); err != nil {
		t.Fatal(err)
	}
	var header, keys []string
	header = append(header, "证照编号")
	for _, f := range cl.Fields {
		header = append(header, f.Label)
		keys = append(keys, f.Key)
	}
	var b strings.Builder
	b.WriteString("\ufeff" + strings.Join(header, ",") + "\n")
	for i, name := range []string{"上海甲有限公司", "上海dup有限公司", "上海refuse有限公司", "上海乙有限公司"} {
		row := []string{fmt.Sprint(1000 + i)}
		for _, k := range keys {
			v := sample[k]
			if k == "name" {
				v = name
			}
			row = append(row, `"`+strings.ReplaceAll(v, `"`, `""`)+`"`)
		}
		b.WriteString(strings.Join(row, ",") + "\n")
	}
	b.WriteString("1,2\n") // a short row: rejected locally
	srv, calls := fakeIssuer(t, true)
	var rejected []string
	var progress int64
	res, err := Run(context.Background(), strings.NewReader(b.String()), Options{
		Server: srv.URL + "/", Token: "tok", Class: cl, Batch: 3,
		Reject:   func(line int, field, reason string) { rejected = append(rejected, fmt.Sprintf("%d %s", line, field)) },
		Progress: func(n int64) { progress = n },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Rows: 5, Issued: 2, Existing: 1, Rejected: 2}) {
		t.Errorf("result %+v", res)
	}
	if len(rejected) != 2 || rejected[0] != "4 name" || !strings.HasPrefix(rejected[1], "6 ") {
		t.Errorf("rejected %q", rejected)
	}
	if progress != int64(b.Len()) {
		t.Errorf("progress %d of %d bytes", progress, b.Len())
	}
	if calls.Load() != 3 { // a 503 retried, then two batches
		t.Errorf("%d requests", calls.Load())
	}
}

func TestRunRefuses(t *testing.T) {
	cl, _ := catalog.Default().Lookup("business-license")
	srv, calls := fakeIssuer(t, false)
	for _, tc := range []struct {
		name string
		csv  string
		opts Options
		want string
	}{
		{"unknown column", "名称,颜色\n", Options{Server: srv.URL, Token: "tok", Class: cl}, `header column 2 "颜色" is not a field`},
		{"empty input", "", Options{Server: srv.URL, Token: "tok", Class: cl}, "reading the header row"},
		{"batch too large", "名称\n", Options{Server: srv.URL, Token: "tok", Class: cl, Batch: 1001}, "batch of 1001"},
		{"no token", "名称\n", Options{Server: srv.URL, Class: cl}, "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), strings.NewReader(tc.csv), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("%d requests sent for refused input", calls.Load())
	}
}

func TestKeyStable(t *testing.T) {
	a := service.IssueRequest{Fields: map[string]string{"a": "1", "b": "2"}, Number: "n"}
	b := service.IssueRequest{Fields: map[string]string{"b": "2", "a": "1"}, Number: "n"}
	if Key("c", a) != Key("c", b) || Key("c", a) == Key("d", a) || len(Key("c", a)) != 32 {
		t.Fatalf("keys %s %s %s", Key("c", a), Key("c", b), Key("d", a))
	}
}

// samplesJSON is the business licence's sample record from the catalogue's
// testdata.
func samplesJSON(t *testing.T) []byte {
	data, err := os.ReadFile("../../certs/catalog/testdata/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Samples map[string]json.RawMessage `json:"samples"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Samples["business-license"]
}

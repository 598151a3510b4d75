package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestIssue(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch i := n.Add(1); {
		case r.Header.Get("Authorization") != "Bearer tok":
			w.WriteHeader(http.StatusUnauthorized)
		case i%5 == 0:
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write([]byte(`{"code":"invalid"}`))
		default:
			w.WriteHeader(http.StatusMultiStatus)
			w.Write([]byte(`{"results":[{"index":0,"licence":{"id":"a"}},{"index":1,"error":{"code":"x"}},{"index":2,"licence":{"id":"b"}}]}`))
		}
	}))
	defer srv.Close()
	r, err := Issue(context.Background(), Options{URL: srv.URL + "/v1/licences", Token: "tok", Body: []byte(`{"licences":[]}`), Clients: 4, Requests: 20, Batch: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status[207] != 16 || r.Status[422] != 4 || r.Licences != 32 || len(r.Latencies) != 16 {
		t.Fatalf("result %+v", r)
	}
	if !strings.HasPrefix(r.FirstErr, "batch entry 1:") && !strings.HasPrefix(r.FirstErr, "422 ") {
		t.Fatalf("first failure %q", r.FirstErr)
	}
	var b strings.Builder
	Report(&b, r, 4, 3)
	for _, want := range []string{"16 requests in ", ", 32 licences (", "answers: 207 ×16, 422 ×4\n", "latency: p50 "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestIssueBadURL(t *testing.T) {
	if _, err := Issue(context.Background(), Options{URL: "ftp://x/", Clients: 1, Requests: 1}); err == nil || !strings.Contains(err.Error(), "ftp") {
		t.Fatalf("err = %v", err)
	}
}

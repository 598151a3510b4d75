package webassets

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

func TestSite(t *testing.T) {
	s := MustNew(fstest.MapFS{
		"assets/index.html": {Data: []byte("<p>hi</p>")},
		"assets/app.js":     {Data: []byte("1")},
		"assets/m.wasm":     {Data: []byte{0, 'a', 's', 'm'}},
	}, "assets", "default-src 'self'")
	get := func(method, path, inm string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	idx := get("GET", "/", "")
	if idx.Code != 200 || idx.Header().Get("Content-Type") != "text/html; charset=utf-8" || idx.Body.String() != "<p>hi</p>" ||
		idx.Header().Get("Content-Security-Policy") != "default-src 'self'" || idx.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("index: %d %v", idx.Code, idx.Header())
	}
	if w := get("GET", "/", idx.Header().Get("ETag")); w.Code != http.StatusNotModified {
		t.Fatalf("revalidation: %d", w.Code)
	}
	if w := get("GET", "/m.wasm", ""); w.Header().Get("Content-Type") != "application/wasm" {
		t.Fatalf("wasm type %q", w.Header().Get("Content-Type"))
	}
	if w := get("GET", "/nope", ""); w.Code != 404 {
		t.Fatalf("missing file: %d", w.Code)
	}
	if w := get("POST", "/", ""); w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %d", w.Code)
	}
	if !s.Has("/app.js") || s.Has("/x") {
		t.Fatal("Has")
	}
}

func TestGzip(t *testing.T) {
	big := bytes.Repeat([]byte("elicense "), 10000)
	s := MustNew(fstest.MapFS{"a/m.wasm": {Data: big}, "a/small.js": {Data: []byte("1")}}, "a", "default-src 'self'")
	get := func(path, ae string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if ae != "" {
			r.Header.Set("Accept-Encoding", ae)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	w := get("/m.wasm", "br, gzip")
	if w.Header().Get("Content-Encoding") != "gzip" || w.Header().Get("Vary") != "Accept-Encoding" || w.Body.Len() >= len(big) {
		t.Fatalf("gzip: %v, %d bytes", w.Header(), w.Body.Len())
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, big) {
		t.Fatal("gzipped body differs")
	}
	plain := get("/m.wasm", "")
	if plain.Header().Get("Content-Encoding") != "" || !bytes.Equal(plain.Body.Bytes(), big) || plain.Header().Get("ETag") == w.Header().Get("ETag") {
		t.Fatal("identity form")
	}
	if get("/m.wasm", "gzip;q=0").Header().Get("Content-Encoding") != "" {
		t.Fatal("gzip;q=0 still compressed")
	}
	if get("/small.js", "gzip").Header().Get("Content-Encoding") != "" {
		t.Fatal("a small file was compressed")
	}
}

package wallet

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestModule checks how wallet.wasm is answered when the binary has no
// module embedded: while it is built, once built, and when it cannot be.
func TestModule(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00")
	for _, c := range []struct {
		name     string
		module   func() ([]byte, error)
		code     int
		reason   string
		wantWasm bool
	}{
		{"none", nil, 404, "wasm_not_built", false},
		{"building", func() ([]byte, error) { return nil, ErrBuilding }, 503, "wasm_building", false},
		{"failed", func() ([]byte, error) { return nil, errors.New("no go command") }, 404, "wasm_not_built", false},
		{"empty", func() ([]byte, error) { return []byte{}, nil }, 404, "wasm_not_built", false},
		{"built", func() ([]byte, error) { return wasm, nil }, 200, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHandler(Options{Module: c.module}, false)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/wallet.wasm", nil))
			if rec.Code != c.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.code, rec.Body)
			}
			if rec.Header().Get("Content-Security-Policy") != ContentSecurityPolicy {
				t.Errorf("no CSP on the answer")
			}
			if !c.wantWasm {
				var body struct{ Error, Message string }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != c.reason || body.Message == "" {
					t.Errorf("body %s (%v), want reason %q with a message", rec.Body, err, c.reason)
				}
				if c.code == 503 && rec.Header().Get("Retry-After") == "" {
					t.Errorf("503 without Retry-After")
				}
				return
			}
			if rec.Header().Get("Content-Type") != "application/wasm" || rec.Body.String() != string(wasm) {
				t.Fatalf("got %q %q", rec.Header().Get("Content-Type"), rec.Body.Bytes())
			}
			etag := rec.Header().Get("ETag")
			req := httptest.NewRequest("GET", "/wallet.wasm", nil)
			req.Header.Set("If-None-Match", etag)
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if etag == "" || rec.Code != http.StatusNotModified {
				t.Errorf("ETag %q, again with If-None-Match: %d, want 304", etag, rec.Code)
			}
		})
	}
}

// TestBuild builds the module as a development server does.
func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm")
	}
	b := Build(t.Context(), t.TempDir(), slog.New(slog.DiscardHandler))
	var wasm []byte
	var err error
	for wasm, err = b.Module(); errors.Is(err, ErrBuilding); wasm, err = b.Module() {
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || len(wasm) < 4 || string(wasm[:4]) != "\x00asm" {
		t.Fatalf("built %d bytes, %v", len(wasm), err)
	}
}

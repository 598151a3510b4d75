package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUnloadableCache: trust data that is held but does not load (damaged
// here; rolled back is the same path) stops seal verification instead of
// turning into "revocation not checked" and a pass, while sync without
// --from still knows where to sync from.
func TestUnloadableCache(t *testing.T) {
	store := t.TempDir()
	runV := func(args ...string) result {
		var o, e bytes.Buffer
		code := run(append(args, "--store", store), env{stdin: strings.NewReader(""), stdout: &o, stderr: &e, now: time.Now})
		return result{code, o.String(), e.String()}
	}
	if r := runV("trust", "add", "../../internal/gm/testdata/fixtures/gm-root.pem"); r.code != 0 {
		t.Fatalf("trust add: %+v", r)
	}
	if err := os.WriteFile(filepath.Join(store, "cache.json"), []byte(`{"from":"http://127.0.0.1:1","bundle":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(t.TempDir(), "doc.txt")
	os.WriteFile(doc, []byte("x"), 0o644)
	os.WriteFile(doc+".ses", []byte("x"), 0o644)
	if r := runV("seal", doc, doc+".ses"); r.code != 2 || !strings.Contains(r.stderr, "does not verify") || strings.Contains(r.stdout, "revocation not checked") {
		t.Fatalf("seal with an unloadable cache: %+v", r)
	}
	if r := runV("sync", "--quiet"); r.code != 2 || !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Fatalf("sync without --from: %+v", r)
	}
}

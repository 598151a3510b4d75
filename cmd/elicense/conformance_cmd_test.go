package main

import (
	"maps"
	"path/filepath"
	"testing"
)

// TestConformanceCommand runs elicense conformance twice into fresh
// directories: the same files, byte for byte, including the trust root.
func TestConformanceCommand(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "kit"), filepath.Join(t.TempDir(), "kit")
	elicense(t, nil, "conformance", "--out", a).want(t, exitOK)
	elicense(t, nil, "conformance", "--out", b).want(t, exitOK)
	ta, tb := relTree(t, a), relTree(t, b)
	if len(ta) < 15 || ta["root.pem"] == "" || ta["qr-static.json"] == "" {
		t.Fatalf("kit has %d files", len(ta))
	}
	if !maps.Equal(ta, tb) {
		t.Fatal("two runs wrote different files")
	}
	elicense(t, nil, "conformance").want(t, exitUsage)
}

// relTree is tree with paths relative to dir.
func relTree(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	for p, v := range tree(t, dir) {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		out[rel] = v
	}
	return out
}

package conformance

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDeterministic generates the kit twice: the files must be identical
// byte for byte.
func TestDeterministic(t *testing.T) {
	a, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

// TestCommittedKitIsCurrent fails when conformance/ at the repository
// root is not what the generator makes: regenerate it with
// go run ./cmd/elicense conformance --out conformance.
func TestCommittedKitIsCurrent(t *testing.T) {
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "conformance")
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v (regenerate the kit)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("conformance/%s is stale: go run ./cmd/elicense conformance --out conformance", name)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		// README.md is written by hand; js/ is the independent verifier.
		if _, ok := files[e.Name()]; !ok && e.Name() != "README.md" && e.Name() != "js" {
			t.Errorf("conformance/%s is not made by the generator", e.Name())
		}
	}
}

// TestWrite writes the kit into a fresh directory and leaves a README
// there alone.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	if err := os.WriteFile(readme, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	names, err := Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "qr-static.json") || !slices.Contains(names, "context.json") || slices.Contains(names, "README.md") {
		t.Fatalf("wrote %v", names)
	}
	if got, _ := os.ReadFile(readme); string(got) != "mine" {
		t.Fatalf("README.md changed to %q", got)
	}
}

// TestSeedKeys checks the seeds give distinct keys that sign
// deterministically.
func TestSeedKeys(t *testing.T) {
	a, b := seedKey("a"), seedKey("b")
	if a.Equal(b) || !a.Equal(seedKey("a")) {
		t.Fatal("seed keys are not a function of their seed")
	}
	s1, err := detSigner{a}.Sign(nil, []byte("m"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := detSigner{a}.Sign(nil, []byte("m"), nil)
	if !bytes.Equal(s1, s2) {
		t.Fatal("signatures differ")
	}
}

package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/verifier/internal/testpki"
)

func TestAddRootPinned(t *testing.T) {
	w := must(testpki.New(time.Now()))
	root := must(gm.ParseCertificate(w.RootDER))
	fp := FingerprintOf(root)
	if s := fp.String(); len(s) != 79 || strings.ToUpper(s) != s || strings.Count(s, " ") != 15 {
		t.Fatalf("format %q", s)
	}
	for _, in := range []string{fp.String(), strings.ToLower(strings.ReplaceAll(fp.String(), " ", "")), strings.ReplaceAll(fp.String(), " ", ":")} {
		if got, err := ParseFingerprint(in); err != nil || got != fp {
			t.Errorf("ParseFingerprint(%q) = %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "abcd", fp.String()[:77], fp.String() + " 00", "zz" + fp.String()[2:]} {
		if _, err := ParseFingerprint(bad); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted", bad)
		}
	}
	s := must(Open(filepath.Join(t.TempDir(), "store")))
	wrong := fp
	wrong[0] ^= 1
	if _, err := s.AddRootPinned(w.RootPEM(), wrong); !errors.Is(err, ErrFingerprint) || !strings.Contains(err.Error(), fp.String()) {
		t.Fatalf("mismatch: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), rootsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a mismatch wrote the roots file: %v", err)
	}
	two := append(w.RootPEM(), w.RootPEM()...)
	if _, err := s.AddRootPinned(two, fp); err == nil || !strings.Contains(err.Error(), "2 certificates") {
		t.Fatalf("two certificates: %v", err)
	}
	if _, err := s.AddRootPinned(w.RootPEM(), fp); err != nil {
		t.Fatal(err)
	}
	if roots, err := s.Roots(); err != nil || len(roots) != 1 || FingerprintOf(roots[0]) != fp {
		t.Fatalf("pinned: %v", err)
	}
}

func FuzzParseFingerprint(f *testing.F) {
	f.Add("")
	f.Add(strings.Repeat("AB12 ", 16))
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := ParseFingerprint(s)
		if err != nil {
			return
		}
		if again, err := ParseFingerprint(fp.String()); err != nil || again != fp {
			t.Fatalf("round trip of %q", s)
		}
	})
}

package browsertest

import (
	"bytes"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "also write page screenshots to the package's testdata/ (the committed ones the docs show)")

// SaveScreenshot checks that shot is a non-empty PNG and keeps it as name
// in the test's artifact directory (kept with `go test -artifacts`). Only
// with -update-screenshots does it rewrite testdata/name, so an ordinary
// test run leaves the checkout clean.
func SaveScreenshot(t *testing.T, name string, shot []byte) {
	t.Helper()
	cfg, err := png.DecodeConfig(bytes.NewReader(shot))
	if err != nil || cfg.Width == 0 || cfg.Height == 0 {
		t.Fatalf("screenshot %s is not a usable PNG (%v)", name, err)
	}
	dirs := []string{t.ArtifactDir()}
	if *updateScreenshots {
		dirs = append(dirs, "testdata")
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

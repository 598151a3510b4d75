package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoIssuerCode checks that the counter binary links no issuer, echo
// or other server-side code.
func TestNoIssuerCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "elicense/cmd/elicense-verify").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"elicense/issuer", "elicense/mobile-sdk", "github.com/labstack/echo", "go.etcd.io/bbolt", "github.com/prometheus", "github.com/jackc/pgx"} {
			if strings.HasPrefix(dep, bad) {
				t.Errorf("elicense-verify links %s", dep)
			}
		}
	}
}

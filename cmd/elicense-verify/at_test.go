package main

import (
	"strings"
	"testing"
	"time"
)

// TestAtFlag: --at takes an RFC 3339 time no earlier than now, on the
// one-off checks only. What a later time does to a verdict (a capture
// past its window is PRESENTATION_EXPIRED) is asserted by cmd/elicense's
// TestJourney against the real binaries.
func TestAtFlag(t *testing.T) {
	store := t.TempDir()
	later := time.Now().Add(2 * time.Minute).Format(time.RFC3339)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"not a time", []string{"check", "--at", "in two minutes", "EL2:x"}, exitUsage, `--at "in two minutes": use an RFC 3339 time`},
		{"in the past", []string{"check", "--at", "2020-01-01T00:00:00Z", "EL2:x"}, exitUsage, "is in the past: a check can be moved later, never earlier"},
		{"image in the past", []string{"image", "--at", "2020-01-01T00:00:00+08:00", "x.png"}, exitUsage, "is in the past"},
		{"not on sync", []string{"sync", "--at", later}, exitUsage, "flag provided but not defined: -at"},
		{"later, empty store", []string{"check", "--at", later, "EL2:x"}, exitUsage, "Pin the issuer's root first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runIn(t, append(tt.args, "--store", store)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, r.code, r.stderr, tt.code, tt.stderr)
			}
		})
	}
}

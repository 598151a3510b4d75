package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runIn(t *testing.T, args ...string) result {
	t.Helper()
	var o, e bytes.Buffer
	code := run(args, env{stdin: strings.NewReader(""), stdout: &o, stderr: &e, now: time.Now})
	return result{code, o.String(), e.String()}
}

// TestHelp: every command has its own --help with a synopsis and
// examples, on stdout, exit 0, however it is asked for.
func TestHelp(t *testing.T) {
	top := runIn(t, "--help")
	if top.code != 0 || !strings.Contains(top.stdout, "elicense-verify <command> --help") {
		t.Fatalf("top-level help: %+v", top)
	}
	for _, c := range commands {
		if !strings.Contains(top.stdout, "  "+c.name+" ") {
			t.Errorf("top-level help lacks %s", c.name)
		}
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			h := runIn(t, args...)
			if h.code != 0 || h.stderr != "" || !strings.HasPrefix(h.stdout, "Usage: elicense-verify "+c.name) ||
				!strings.Contains(h.stdout, "Examples:\n  elicense-verify "+c.name) || !strings.Contains(h.stdout, "-store directory") {
				t.Errorf("%v: %+v", args, h)
			}
		}
	}
	// Sub-command forms too.
	for _, args := range [][]string{{"log", "verify", "--help"}, {"trust", "add", "-h"}} {
		if h := runIn(t, args...); h.code != 0 || !strings.HasPrefix(h.stdout, "Usage: elicense-verify "+args[0]) {
			t.Errorf("%v: %+v", args, h)
		}
	}
	if h := runIn(t, "serve", "--help"); !strings.Contains(h.stdout, "-sync-every interval") || !strings.Contains(h.stdout, "(default 5m0s)") {
		t.Errorf("serve help: %s", h.stdout)
	}
	if h := runIn(t, "check", "--help"); !strings.Contains(h.stdout, "-json") || strings.Contains(h.stdout, "-sync-every") {
		t.Errorf("check help: %s", h.stdout)
	}
	if r := runIn(t); r.code != exitUsage || !strings.Contains(r.stderr, "Commands:") {
		t.Errorf("no arguments: %+v", r)
	}
	if r := runIn(t, "help", "nope"); r.code != exitUsage {
		t.Errorf("help nope: %+v", r)
	}
}

// TestFlagsAnywhere: flags after the arguments are parsed; a wrong flag
// or argument gets an error naming it and pointing at the command's help.
func TestFlagsAnywhere(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	// --store after the text: the store named is the one opened.
	r := runIn(t, "check", "EL1:XYZ", "--store", dir, "--json")
	if r.code != exitUsage || !strings.Contains(r.stderr, "no root pinned") || r.stdout != "" {
		t.Fatalf("check TEXT --store: %+v", r)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("--store after the argument was not used: %v", err)
	}
	r = runIn(t, "trust", "add", "root.pem", "--fingerprint", "00", "--store", dir)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--fingerprint: store: fingerprint \"00\" is not 64 hex digits") {
		t.Fatalf("trust add FILE --fingerprint: %+v", r)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "EL1:X", "--bogus"}, "elicense-verify check: flag provided but not defined: -bogus\nRun 'elicense-verify check --help' for usage."},
		{[]string{"check", "a", "b"}, "name one QR text"},
		{[]string{"check"}, "name one QR text"},
		{[]string{"check", "--lang", "fr", "x"}, "--lang \"fr\""},
		{[]string{"serve", "--sync-every", "-1s"}, "--sync-every -1s"},
		{[]string{"serve", "--sync-every", "often"}, "invalid value \"often\" for flag -sync-every"},
		{[]string{"log"}, "use log verify or log export"},
		{[]string{"log", "rotate"}, "use log verify or log export"},
		{[]string{"trust"}, "use trust add [--tsa] ROOT.pem, trust list or trust remove --tsa FINGERPRINT"},
		{[]string{"trust", "remove", "AB12"}, "trust remove removes a TSA root"},
		{[]string{"trust", "remove", "--tsa"}, "takes the FINGERPRINT"},
		{[]string{"trust", "remove", "--tsa", "AB12"}, "is not 64 hex digits"},
		{[]string{"trust", "list", "x"}, "takes no argument"},
		{[]string{"scan", "file.txt"}, "scan reads stdin"},
		{[]string{"frobnicate"}, "unknown command \"frobnicate\""},
	} {
		r := runIn(t, append(tc.args, "--store", dir)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%v: %+v", tc.args, r)
		}
	}
	// "--" ends the flags: what follows is an argument even if it starts with -.
	if r := runIn(t, "check", "--store", dir, "--", "--json"); r.code != exitUsage || !strings.Contains(r.stderr, "no root pinned") {
		t.Errorf("check -- --json: %+v", r)
	}
}

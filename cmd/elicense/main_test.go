package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"elicense/internal/gm"
	"elicense/issuer/pki"
)

// binary builds the real elicense binary once per test run.
var binary = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "elicense-e2e-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "elicense")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		// Before any test builds the issuer: the binary, built once for
		// the package, must embed the web wallet the journey opens.
		if err := buildWalletWasm(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if bin, err := binary(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// elicense runs the built binary with args and extra environment
// variables, ELICENSE_PASSPHRASE removed from the inherited environment.
func elicense(t *testing.T, env []string, args ...string) result {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("building elicense: %v", err)
	}
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, passphraseEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err = cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// tree records every file under dir with its mode and content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, _ := d.Info()
		b, err := os.ReadFile(p)
		out[p] = fi.Mode().String() + " " + string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInitEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")

	// A fresh directory, no passphrase given: one is generated.
	r := elicense(t, nil, "init", "--dir", dir)
	r.want(t, exitOK)
	passFile := filepath.Join(dir, "passphrase")
	if !strings.Contains(r.stderr, "generated a random passphrase") || !strings.Contains(r.stderr, passFile) {
		t.Errorf("stderr does not announce the generated passphrase:\n%s", r.stderr)
	}
	if fi, err := os.Stat(passFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("passphrase file: %v, %v", fi, err)
	}
	m := readManifest(t, dir)
	for _, want := range []string{"Created a development PKI in " + dir, "Agencies (9):", "root.crt.pem", "pki.json",
		"key ID " + m.Root.KeyID, "key ID " + m.Agencies[0].KeyID, "上海市市场监督管理局",
		"business-license, food-operation-permit, drug-operation-permit", "passphrase  (key passphrase, 0600)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	// The PKI loads with the generated passphrase.
	pw, err := gm.PassphraseSource{File: passFile}.Read()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.Load(dir, pw); err != nil {
		t.Fatal(err)
	}

	// Again: refused, exit 1, nothing changed.
	before := tree(t, dir)
	r = elicense(t, nil, "init", "--dir", dir)
	r.want(t, exitFail)
	if !strings.Contains(r.stderr, "directory already holds a PKI") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("refusal message:\n%s", r.stderr)
	}
	after := tree(t, dir)
	if len(before) != len(after) {
		t.Fatalf("%d files before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed", k)
		}
	}

	// OpenSSL reads what was written.
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Log("openssl not installed: skipping the OpenSSL checks (CI has it)")
	} else {
		openssl := func(args ...string) string {
			t.Helper()
			cmd := exec.Command("openssl", args...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			return string(out)
		}
		for _, f := range []string{pki.RootCertFile, pki.LedgerCertFile, m.Agencies[0].Cert} {
			if out := openssl("x509", "-in", f, "-noout", "-text"); !strings.Contains(out, "SM2-with-SM3") {
				t.Errorf("openssl x509 %s:\n%s", f, out)
			}
		}
		for _, a := range m.Agencies {
			out := openssl("verify", "-vfyopt", "distid:1234567812345678", "-CAfile", pki.RootCertFile, a.Cert)
			if strings.TrimSpace(out) != a.Cert+": OK" {
				t.Errorf("openssl verify: %s", out)
			}
		}
	}

	// A passphrase from a file, and from the environment.
	pf := filepath.Join(t.TempDir(), "pass")
	os.WriteFile(pf, []byte("from a file\n"), 0o600)
	dir2 := filepath.Join(t.TempDir(), "pki2")
	r = elicense(t, nil, "init", "--dir", dir2, "--passphrase-file", pf)
	r.want(t, exitOK)
	if strings.Contains(r.stderr, "generated") {
		t.Errorf("generated a passphrase although one was given:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir2, "passphrase")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("wrote a passphrase file although one was given")
	}
	if _, err := pki.Load(dir2, []byte("from a file")); err != nil {
		t.Fatal(err)
	}
	dir3 := filepath.Join(t.TempDir(), "pki3")
	elicense(t, []string{passphraseEnv + "=from the environment"}, "init", "--dir", dir3).want(t, exitOK)
	if _, err := pki.Load(dir3, []byte("from the environment")); err != nil {
		t.Fatal(err)
	}

	// An agencies file.
	af := filepath.Join(t.TempDir(), "agencies.json")
	os.WriteFile(af, []byte(`[{"code":"11310000PDY1000379","name":"上海市民政局","classes":["结婚证"]}]`), 0o600)
	dir4 := filepath.Join(t.TempDir(), "pki4")
	r = elicense(t, []string{passphraseEnv + "=x"}, "init", "--dir", dir4, "--agencies", af)
	r.want(t, exitOK)
	if m4 := readManifest(t, dir4); len(m4.Agencies) != 1 || m4.Agencies[0].Classes[0] != "marriage-certificate" {
		t.Errorf("manifest with an agencies file: %+v", m4.Agencies)
	}
}

func readManifest(t *testing.T, dir string) pki.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, pki.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m pki.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestServeErrors(t *testing.T) {
	old := filepath.Join(t.TempDir(), "old")
	os.Mkdir(old, 0o700)
	os.WriteFile(filepath.Join(old, "state.db"), []byte("x"), 0o600)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"gc percent", []string{"serve", "--addr", "127.0.0.1:0", "--gc-percent", "10"}, exitUsage, `--gc-percent: "10" is not a percentage of at least 25`},
		{"gomaxprocs", []string{"serve", "--addr", "127.0.0.1:0", "--gomaxprocs", "-1"}, exitUsage, `--gomaxprocs: "-1" is not a number of Ps`},
		{"holder merge", []string{"serve", "--addr", "127.0.0.1:0", "--holder-merge-at", "0"}, exitUsage, `--holder-merge-at: "0" is not a positive count`},
		{"trusted proxies", []string{"serve", "--addr", "127.0.0.1:0", "--trusted-proxies", "10.0.0.0/8,proxy.example"}, exitUsage, `--trusted-proxies: trusted proxy "proxy.example": want a CIDR`},
		{"token leeway", []string{"serve", "--addr", "127.0.0.1:0", "--token-leeway", "1h"}, exitUsage, `--token-leeway: "1h0m0s" is not a duration from 0s to 10m0s`},
		{"old layout", []string{"serve", "--addr", "127.0.0.1:0", "--data", old}, exitFail, "older layout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := elicense(t, nil, tt.args...)
			r.want(t, tt.code)
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(old, "pki")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("serve on an old data directory made a PKI in it")
	}
}

func TestInitErrors(t *testing.T) {
	tmp := t.TempDir()
	notEmpty := filepath.Join(tmp, "notempty")
	os.Mkdir(notEmpty, 0o700)
	os.WriteFile(filepath.Join(notEmpty, "x"), nil, 0o600)
	badAgencies := filepath.Join(tmp, "bad.json")
	os.WriteFile(badAgencies, []byte(`[{"code":"11310000PDY1000378","name":"x","classes":["结婚证"]}]`), 0o600)
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{"no dir", nil, []string{"init"}, exitUsage, "--dir is required"},
		{"unknown flag", nil, []string{"init", "--dri", "x"}, exitUsage, "flag provided but not defined: -dri"},
		{"passphrase as a flag", nil, []string{"init", "--dir", "x", "--passphrase", "secret"}, exitUsage, "flag provided but not defined: -passphrase"},
		{"extra argument", nil, []string{"init", "--dir", "x", "y"}, exitUsage, `unexpected argument "y"`},
		{"not empty", nil, []string{"init", "--dir", notEmpty}, exitFail, "directory is not empty"},
		{"missing passphrase file", nil, []string{"init", "--dir", filepath.Join(tmp, "a"), "--passphrase-file", filepath.Join(tmp, "nope")}, exitFail, "no such file"},
		{"empty env passphrase", []string{passphraseEnv + "="}, []string{"init", "--dir", filepath.Join(tmp, "b")}, exitFail, "ELICENSE_PASSPHRASE is set but empty"},
		{"bad agencies file", nil, []string{"init", "--dir", filepath.Join(tmp, "c"), "--agencies", badAgencies}, exitFail, "check character is '8', want '9'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := elicense(t, tt.env, tt.args...)
			r.want(t, tt.code)
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.stderr)
			}
		})
	}
	for _, d := range []string{"a", "b", "c"} {
		if _, err := os.Stat(filepath.Join(tmp, d)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a failed init left %s behind", d)
		}
	}
	r := elicense(t, nil, "init", "--print-agencies")
	r.want(t, exitOK)
	if got, err := pki.ParseAgencyConfigs([]byte(r.stdout)); err != nil || len(got) != 9 {
		t.Errorf("--print-agencies output does not parse back: %v", err)
	}
}

func TestValidateEndToEnd(t *testing.T) {
	tests := []struct {
		kind, value string
		code        int
		stdout      string
	}{
		{"uscc", "91350100M000100Y43", exitOK, "valid"},
		{"uscc", "91350100M000100Y4X", exitFail, "invalid: check character is 'X', want '3'"},
		{"uscc", "11310000PDY100010H", exitOK, "valid"},
		{"uscc", "91350100m000100Y43", exitFail, "invalid: character 'm' at position 8 is lower-case"},
		{"resident-id", "11010519491231002X", exitOK, "valid"},
		{"resident-id", "110105194912310021", exitFail, "invalid: check character is '1', want 'X'"},
		{"resident-id", "110105194902300025", exitFail, "invalid: "},
		{"org-code", "D2143569-X", exitOK, "valid"},
		{"org-code", "D2143569X", exitOK, "valid"},
		{"org-code", "D2143569-1", exitFail, "invalid: check character is '1', want 'X'"},
		{"license-id", "1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20260001.001.N", exitOK, "valid (issuer code: 18-character unified social credit code (统一社会信用代码, GB 32100))\n"},
		{"license-id", "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9", exitOK, "valid (issuer code: 6-digit administrative division code (行政区划代码, GB/T 2260))\n"},
		{"license-id", "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.8", exitFail, "invalid: check character is '8', want '9'"},
		{"license-id", "1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20260001.001.M", exitFail, "invalid: check character is 'M', want 'N'"},
		{"license-id", "1.2.156.3005.1.x", exitFail, "invalid: does not begin with the root"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.value, func(t *testing.T) {
			r := elicense(t, nil, "validate", tt.kind, tt.value)
			r.want(t, tt.code)
			if tt.code == exitOK && r.stdout != "valid\n" && r.stdout != tt.stdout || !strings.HasPrefix(r.stdout, tt.stdout) {
				t.Errorf("stdout %q, want %q", r.stdout, tt.stdout)
			}
			if r.stderr != "" {
				t.Errorf("stderr %q", r.stderr)
			}
		})
	}
	for _, args := range [][]string{
		{"validate"},
		{"validate", "uscc"},
		{"validate", "uscc", "a", "b"},
		{"validate", "passport", "E12345678"},
		{"validate", "--strict", "uscc", "x"},
	} {
		r := elicense(t, nil, args...)
		r.want(t, exitUsage)
		if !strings.Contains(r.stderr, "Run 'elicense validate --help' for usage.") || r.stdout != "" {
			t.Errorf("%v: stdout %q stderr %q", args, r.stdout, r.stderr)
		}
	}
}

// TestHelp: every command has --help with a usage text and examples, and
// every example in the validate help is valid.
func TestHelp(t *testing.T) {
	r := elicense(t, nil, "--help")
	r.want(t, exitOK)
	for _, c := range commands {
		if !strings.Contains(r.stdout, "  "+c.name+" ") {
			t.Errorf("top-level help lacks %s", c.name)
		}
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			h := elicense(t, nil, args...)
			h.want(t, exitOK)
			if !strings.HasPrefix(h.stdout, "Usage: elicense "+c.name) || !strings.Contains(h.stdout, "Examples:") {
				t.Errorf("%v: help text:\n%s", args, h.stdout)
			}
		}
	}
	if h := elicense(t, nil, "init", "--help"); !strings.Contains(h.stdout, "-passphrase-file file") {
		t.Errorf("init help lacks the flag list:\n%s", h.stdout)
	}
	elicense(t, nil).want(t, exitUsage)
	elicense(t, nil, "frobnicate").want(t, exitUsage)
	elicense(t, nil, "help", "frobnicate").want(t, exitUsage)

	h := elicense(t, nil, "validate", "--help")
	examples := regexp.MustCompile(`(?m)^  elicense validate (\S+) (\S+)$`).FindAllStringSubmatch(h.stdout, -1)
	if len(examples) != len(validators) {
		t.Fatalf("%d validate examples, want one per kind", len(examples))
	}
	for _, ex := range examples {
		elicense(t, nil, "validate", ex[1], ex[2]).want(t, exitOK)
	}
}

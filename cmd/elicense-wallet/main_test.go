package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/certs/qr"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
)

var walletBin string

// stdinText is the next command's standard input (then reset).
var stdinText string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "elicense-wallet-bin-")
	if err != nil {
		panic(err)
	}
	walletBin, err = issuertest.Build(dir, "./cmd/elicense-wallet", "elicense-wallet")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	issuertest.Cleanup()
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func wallet(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(walletBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, passphraseEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdinText)
	stdinText = ""
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

func TestHelp(t *testing.T) {
	r := wallet(t, nil, "--help").want(t, 0)
	for _, c := range commands {
		if !strings.Contains(r.stdout, "  "+c.name+" ") {
			t.Errorf("usage does not list %s:\n%s", c.name, r.stdout)
		}
	}
	seen := map[string]bool{}
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}, {c.name, "ID", "--help"}} {
			r := wallet(t, nil, args...).want(t, 0)
			if !strings.HasPrefix(r.stdout, "Usage: elicense-wallet "+c.name) || !strings.Contains(r.stdout, "\nExamples:\n  elicense-wallet "+c.name) ||
				!strings.Contains(r.stdout, "\nFlags:\n") || !strings.Contains(r.stdout, "-passphrase-file") {
				t.Errorf("%v: want the command's own usage with examples and flags:\n%s", args, r.stdout)
			}
			seen[r.stdout] = true
		}
	}
	if len(seen) != len(commands) {
		t.Errorf("%d different help texts for %d commands", len(seen), len(commands))
	}
	wallet(t, nil).want(t, 2)
	wallet(t, nil, "frobnicate").want(t, 2)
	wallet(t, nil, "help", "frobnicate").want(t, 2)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"show", "--passphrase", "x", "ID"}, "unknown flag --passphrase"}, // no passphrase flag
		{[]string{"show", "ID", "--bogus"}, "unknown flag --bogus"},
		{[]string{"present", "ID", "--png"}, "flag --png needs a value"},
		{[]string{"present", "ID", "--ppm", "many"}, "--ppm"},
		{[]string{"list", "extra"}, "list takes no arguments"},
	} {
		r := wallet(t, nil, tc.args...).want(t, 2)
		if !strings.Contains(r.stderr, tc.msg) || !strings.Contains(r.stderr, "Run 'elicense-wallet "+tc.args[0]+" --help'") {
			t.Errorf("%v: stderr %q, want %q and a pointer to --help", tc.args, r.stderr, tc.msg)
		}
	}
	wallet(t, []string{passphraseEnv + "=secret"}, "show", "--dir", t.TempDir()).want(t, 2)
	if r := wallet(t, nil, "list", "--dir", t.TempDir()).want(t, 1); !strings.Contains(r.stderr, passphraseEnv) {
		t.Errorf("no passphrase: %q", r.stderr)
	}
}

func TestParseInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  string
		png  string
	}{
		{[]string{"ID"}, "ID", ""},
		{[]string{"--png", "a.png", "ID"}, "ID", "a.png"},
		{[]string{"ID", "--png", "a.png"}, "ID", "a.png"},
		{[]string{"A", "--png", "a.png", "B"}, "A B", "a.png"},
		{[]string{"--png", "a.png", "--", "--odd-id"}, "--odd-id", "a.png"},
		{[]string{"A", "--", "--png", "x"}, "A --png x", ""},
	} {
		fs := newFlagSet(lookup("present"), &env{})
		pos, err := parseInterleaved(fs, tc.args)
		if err != nil || strings.Join(pos, " ") != tc.pos || flagString(fs, "png") != tc.png {
			t.Errorf("%q: %q png %q %v, want %q png %q", tc.args, pos, flagString(fs, "png"), err, tc.pos, tc.png)
		}
	}
}

func TestHolderLang(t *testing.T) {
	for _, tc := range []struct{ lcAll, lang, want string }{
		{"", "", "zh"},
		{"", "en_GB.UTF-8", "en"},
		{"", "zh_CN.UTF-8", "zh"},
		{"C.UTF-8", "en_US.UTF-8", "zh"},
		{"en_US.UTF-8", "zh_CN.UTF-8", "en"},
	} {
		t.Setenv("LC_ALL", tc.lcAll)
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", tc.lang)
		if got := holderLang(); got != tc.want {
			t.Errorf("LC_ALL=%q LANG=%q: %s, want %s", tc.lcAll, tc.lang, got, tc.want)
		}
	}
}

// TestWalletCLIEndToEnd runs the holder's command line against the real
// issuer: claim, list, show, present (PNG, terminal, watch), refresh after
// a revocation, a wallet without a pinned root, and a damaged store.
func TestWalletCLIEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer")
	}
	s := issuertest.Start(t)
	tmp := t.TempDir()
	c := &cliSession{
		s:        s,
		bl:       s.Issue(t, "business-license"),
		dl:       s.Issue(t, "drivers-license"),
		tmp:      tmp,
		dir:      filepath.Join(tmp, "wallet"),
		rootFile: filepath.Join(s.Data, "pki", "root.crt.pem"),
		env:      []string{passphraseEnv + "=correct horse"},
		today:    time.Now().Format("2006-01-02"),
	}
	c.claim(t)
	c.listAndShow(t)
	c.present(t)
	c.watch(t)
	c.revoked(t)
	c.refusals(t)
	c.withoutRoot(t)
	c.damaged(t)
}

// cliSession is the state TestWalletCLIEndToEnd's steps share: the
// issuer, what it issued, the wallet's directory and the claimed IDs.
type cliSession struct {
	s        *issuertest.Server
	bl, dl   issuertest.Issued
	tmp, dir string
	rootFile string
	env      []string
	today    string
	id, id2  string
}

// lang is the session's environment with the holder's locale set to LANG=lang.
func (c *cliSession) lang(lang string) []string {
	return append([]string{"LC_ALL=", "LC_MESSAGES=", "LANG=" + lang}, c.env...)
}

// claim claims both licences, the first with a passphrase file and a
// trust root, the second with the passphrase in the environment; a reused
// code is refused.
func (c *cliSession) claim(t *testing.T) {
	t.Helper()
	passFile := filepath.Join(c.tmp, "pass")
	os.WriteFile(passFile, []byte("correct horse\n"), 0o600)
	c.id = strings.TrimSpace(wallet(t, nil, "claim", "--dir", c.dir, "--passphrase-file", passFile, "--server", c.s.URL, "--trust-root", c.rootFile, c.bl.ClaimCode).want(t, 0).stdout)
	if !strings.HasPrefix(c.id, c.bl.ID+"#") {
		t.Fatalf("claimed %q", c.id)
	}
	c.id2 = strings.TrimSpace(wallet(t, c.env, "claim", "--dir", c.dir, "--server", c.s.URL, c.dl.ClaimCode).want(t, 0).stdout)
	if r := wallet(t, c.env, "claim", "--dir", c.dir, "--server", c.s.URL, c.dl.ClaimCode).want(t, 1); !strings.Contains(r.stderr, "claim refused (403") {
		t.Errorf("reused code: %s", r.stderr)
	}
}

// listAndShow: the root pinned by the first claim checks the second too,
// and both statuses are read at claim time.
func (c *cliSession) listAndShow(t *testing.T) {
	t.Helper()
	list := wallet(t, c.env, "list", "--dir", c.dir).want(t, 0).stdout
	lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "STATUS") || !strings.Contains(lines[0], "REFRESHED") ||
		!strings.Contains(list, c.id) || !strings.Contains(list, c.id2) {
		t.Fatalf("list:\n%s", list)
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) < 4 || f[2] != "valid" || f[3] != c.today {
			t.Errorf("list line %q: want status valid, refreshed today", l)
		}
	}
	show := wallet(t, c.env, "show", "--dir", c.dir, c.id).want(t, 0).stdout
	if !strings.Contains(show, "营业执照") || !strings.Contains(show, "* domicile") || !strings.Contains(show, "Verified:   true") ||
		!strings.Contains(show, "Status:     valid\n") || !strings.Contains(show, "Refreshed:  "+c.today) {
		t.Fatalf("show:\n%s", show)
	}
	if jws := wallet(t, c.env, "show", "--dir", c.dir, "--credential", c.id).want(t, 0).stdout; strings.Count(jws, ".") != 2 {
		t.Fatalf("credential: %q", jws)
	}
}

// present presents the business licence as text, PNG and terminal QR; a
// counter verifies the text, and refuses it as an old screenshot.
func (c *cliSession) present(t *testing.T) {
	t.Helper()
	pngFile := filepath.Join(c.tmp, "qr.png")
	r := wallet(t, c.env, "present", c.id, "--dir", c.dir, "--disclose", "domicile", "--png", pngFile, "--terminal").want(t, 0)
	text := strings.TrimSpace(r.stdout)
	if !strings.Contains(r.stderr, "█") {
		t.Errorf("no terminal QR on stderr")
	}
	f, err := os.Open(pngFile)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("png: %v", err)
	}

	roots, _ := gm.ParseCertificatesPEM(c.s.RootPEM(t))
	b, err := trust.Verify(c.s.TrustBundle(t), trust.VerifyOptions{Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := qr.Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tok.Verify(qr.VerifyOptions{Keys: b.Resolver()})
	if err != nil || !res.Bound || res.Fields["domicile"] != issuertest.Sample(t, "business-license")["domicile"] {
		t.Fatalf("counter: %v %+v", err, res)
	}
	if _, err := qr.Decode(text); err != nil {
		t.Fatal(err)
	}
	tok, _ = qr.Decode(text)
	if _, err := tok.Verify(qr.VerifyOptions{Keys: b.Resolver(), Now: time.Now().Add(100 * time.Second)}); err == nil {
		t.Fatal("an old screenshot verified")
	}
}

// watch: --watch prints a fresh presentation each interval.
func (c *cliSession) watch(t *testing.T) {
	t.Helper()
	r := wallet(t, c.env, "present", "--dir", c.dir, "--watch", "--interval", "1s", "--count", "2", "--text", c.id2).want(t, 0)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2 || lines[0] == lines[1] || !strings.HasPrefix(lines[1], qr.Prefix) {
		t.Fatalf("watch: %q", r.stdout)
	}
}

// revoked: the agency revokes the business licence; refresh learns it,
// and list and show say so.
func (c *cliSession) revoked(t *testing.T) {
	t.Helper()
	if st := c.s.Call(t, "POST", "/v1/licences/"+c.bl.ID+"/revoke", c.s.Operator(t, "business-license"), map[string]string{"reason": "吊销"}, nil); st != 200 {
		t.Fatalf("revoke: HTTP %d", st)
	}
	r := wallet(t, c.env, "refresh", "--dir", c.dir).want(t, 0)
	if !strings.Contains(r.stdout, c.id+"\trevoked\trefreshed "+c.today) || !strings.Contains(r.stdout, c.id2+"\tvalid\t") {
		t.Errorf("refresh:\n%s", r.stdout)
	}
	if r := wallet(t, c.env, "list", "--dir", c.dir).want(t, 0); !strings.Contains(r.stdout, " revoked ") {
		t.Errorf("list after revocation:\n%s", r.stdout)
	} else {
		t.Logf("list after revocation:\n%s", r.stdout)
	}
	var all []struct{ ID, Status string }
	if err := json.Unmarshal([]byte(wallet(t, c.env, "list", "--json", "--dir", c.dir).want(t, 0).stdout), &all); err != nil || len(all) != 2 {
		t.Errorf("list --json: %v %+v", err, all)
	}
	for _, x := range all {
		if want := map[string]string{c.id: "revoked", c.id2: "valid"}[x.ID]; x.Status != want {
			t.Errorf("list --json: %s is %q, want %q", x.ID, x.Status, want)
		}
	}
	if show := wallet(t, c.env, "show", c.id, "--dir", c.dir).want(t, 0).stdout; !strings.Contains(show, "Status:     revoked\n") || !strings.Contains(show, "该证照已被吊销或注销，不能出示") {
		t.Errorf("show after revocation:\n%s", show)
	} else {
		t.Logf("show after revocation:\n%s", show)
	}
}

// refusals: present refuses the revoked licence with the reason in the
// holder's language, exit status 3; the other is still presented.
func (c *cliSession) refusals(t *testing.T) {
	t.Helper()
	r := wallet(t, c.lang("zh_CN.UTF-8"), "present", c.id, "--dir", c.dir).want(t, 3)
	if r.stdout != "" || !strings.HasPrefix(r.stderr, "该证照已被吊销或注销，不能出示。请联系颁发机构") || !strings.Contains(r.stderr, "市场监督管理局。\n") {
		t.Errorf("present a revoked licence: stdout %q stderr %q", r.stdout, r.stderr)
	}
	if r := wallet(t, c.lang("en_GB.UTF-8"), "present", c.id, "--dir", c.dir, "--text").want(t, 3); !strings.HasPrefix(r.stderr, "This licence has been revoked or cancelled and cannot be presented.") {
		t.Errorf("present a revoked licence, English: %q", r.stderr)
	}
	wallet(t, c.env, "present", c.id2, "--dir", c.dir, "--text").want(t, 0)
}

// withoutRoot: a wallet without a pinned root cannot refresh, and says
// what to do.
func (c *cliSession) withoutRoot(t *testing.T) {
	t.Helper()
	other := filepath.Join(c.tmp, "other")
	id3 := strings.TrimSpace(wallet(t, c.env, "claim", "--dir", other, "--server", c.s.URL, c.s.Issue(t, "business-license").ClaimCode).want(t, 0).stdout)
	if r := wallet(t, c.env, "list", "--dir", other).want(t, 0); !strings.Contains(r.stdout, " unknown ") || !strings.Contains(r.stdout, " never") {
		t.Errorf("list before any refresh:\n%s", r.stdout)
	}
	if r := wallet(t, c.lang("zh_CN.UTF-8"), "present", "--dir", other, "--text", id3).want(t, 0); !strings.Contains(r.stderr, "尚未核实该证照的最新状态") {
		t.Errorf("present with an unknown status: stderr %q", r.stderr)
	}
	if r := wallet(t, c.env, "refresh", "--dir", other).want(t, 2); !strings.Contains(r.stderr, "--trust-root") {
		t.Errorf("refresh without a root: %q", r.stderr)
	}
	if r := wallet(t, c.env, "refresh", "--dir", other, "--trust-root", c.rootFile).want(t, 0); !strings.Contains(r.stdout, "\tvalid\t") {
		t.Errorf("refresh pinning a root: %q", r.stdout)
	}
}

// damaged: a wrong passphrase, an unknown licence and a tampered file
// are reported; the damaged store still lists and deletes the rest.
func (c *cliSession) damaged(t *testing.T) {
	t.Helper()
	if r := wallet(t, []string{passphraseEnv + "=wrong horse"}, "list", "--dir", c.dir).want(t, 1); !strings.Contains(r.stderr, "wrong passphrase") {
		t.Errorf("wrong passphrase: %s", r.stderr)
	}
	wallet(t, c.env, "show", "--dir", c.dir, "nope").want(t, 1)
	files, _ := filepath.Glob(filepath.Join(c.dir, "lic-*.el"))
	if len(files) != 2 {
		t.Fatalf("store files %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	raw[len(raw)-1] ^= 0x80
	os.WriteFile(files[0], raw, 0o600)
	r := wallet(t, c.env, "list", "--dir", c.dir).want(t, 1)
	if strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stderr, "corrupt") {
		t.Fatalf("list after tampering:\n%s\n%s", r.stdout, r.stderr)
	}
	wallet(t, c.env, "delete", "--dir", c.dir, c.id2).want(t, 0)
	wallet(t, c.env, "delete", "--dir", c.dir, c.id2).want(t, 1)
}

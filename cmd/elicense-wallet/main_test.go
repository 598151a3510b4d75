package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	// No passphrase: the error says how to give one.
	if r := wallet(t, nil, "list", "--dir", t.TempDir()).want(t, 2); !strings.Contains(r.stderr, "read -rs "+passphraseEnv+" && export "+passphraseEnv) ||
		!strings.Contains(r.stderr, "--passphrase-file") || !strings.Contains(r.stderr, "never from the command line") {
		t.Errorf("no passphrase: %q", r.stderr)
	}
	if r := wallet(t, nil, "help", "present").want(t, 0); !strings.Contains(r.stdout, "read -rs "+passphraseEnv) || !strings.Contains(r.stdout, "LICENCE is the licence's number") {
		t.Errorf("present --help says nothing of the passphrase or LICENCE:\n%s", r.stdout)
	}
}

// claimedID is the copy ID in claim --json's output.
func claimedID(t *testing.T, stdout string) string {
	t.Helper()
	var l struct {
		ID    string
		Index int64
	}
	if err := json.Unmarshal([]byte(stdout), &l); err != nil || l.ID == "" || l.Index < 1 {
		t.Fatalf("claim --json: %q %v", stdout, err)
	}
	return l.ID
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
	out := wallet(t, []string{"LC_ALL=zh_CN.UTF-8"}, "claim", "--dir", c.dir, "--passphrase-file", passFile, "--server", c.s.URL, "--trust-root", c.rootFile, c.bl.ClaimCode).want(t, 0).stdout
	for _, want := range []string{"已领取第 1 份证照：营业执照 · " + issuertest.Sample(t, "business-license")["name"] + "\n", "  证照标识  " + c.bl.ID + "\n",
		"  本机副本  " + c.bl.ID + "#", "出示：elicense-wallet present 1 --terminal\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("claim printed no %q:\n%s", want, out)
		}
	}
	_, rest, _ := strings.Cut(out, "本机副本  ")
	c.id, _, _ = strings.Cut(rest, "\n")
	if !strings.HasPrefix(c.id, c.bl.ID+"#") {
		t.Fatalf("claimed %q", out)
	}
	c.id2 = claimedID(t, wallet(t, c.env, "claim", "--json", "--dir", c.dir, "--server", c.s.URL, c.dl.ClaimCode).want(t, 0).stdout)
	r := wallet(t, c.lang("zh_CN.UTF-8"), "claim", "--dir", c.dir, "--server", c.s.URL, c.dl.ClaimCode).want(t, 1)
	if !strings.Contains(r.stderr, "elicense-wallet claim: 领证码无效、已使用或已过期。请核对后重新输入；如仍不行，请向发证机构申请新的领证码。\n") ||
		!strings.Contains(r.stderr, "  detail: mobilesdk: claim refused (403") {
		t.Errorf("reused code: %s", r.stderr)
	}
	if r := wallet(t, c.lang("en_GB.UTF-8"), "claim", "--dir", c.dir, "--server", c.s.URL, c.dl.ClaimCode).want(t, 1); !strings.Contains(r.stderr, "The claim code is unknown, already used or expired.") {
		t.Errorf("reused code, English: %s", r.stderr)
	}
}

// listAndShow: the root pinned by the first claim checks the second too,
// and both statuses are read at claim time.
func (c *cliSession) listAndShow(t *testing.T) {
	t.Helper()
	list := wallet(t, c.env, "list", "--dir", c.dir).want(t, 0).stdout
	lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "#  LICENCE") || !strings.Contains(lines[0], "STATUS") || !strings.Contains(lines[0], "REFRESHED") {
		t.Fatalf("list:\n%s", list)
	}
	for i, want := range []string{c.bl.ID, c.dl.ID} {
		if f := strings.Fields(lines[i+1]); len(f) < 5 || f[0] != strconv.Itoa(i+1) || f[1] != want || f[3] != "valid" || f[4] != c.today {
			t.Errorf("list line %q: want number %d, %s, status valid, refreshed today", lines[i+1], i+1, want)
		}
	}
	// show by every name the holder has for the licence.
	for _, ref := range []string{c.id, c.bl.ID, "1"} {
		show := wallet(t, c.env, "show", "--dir", c.dir, ref).want(t, 0).stdout
		if !strings.Contains(show, "营业执照") || !strings.Contains(show, "List #:     1\nLicence:    "+c.bl.ID+"\nCopy:       "+c.id+"\n") ||
			!strings.Contains(show, "* domicile") || !strings.Contains(show, "Verified:   true") ||
			!strings.Contains(show, "Status:     valid\n") || !strings.Contains(show, "Refreshed:  "+c.today) {
			t.Fatalf("show %s:\n%s", ref, show)
		}
	}
	if jws := wallet(t, c.env, "show", "--dir", c.dir, "--credential", "2").want(t, 0).stdout; strings.Count(jws, ".") != 2 {
		t.Fatalf("credential: %q", jws)
	}
}

// present presents the business licence as text, PNG and terminal QR; a
// counter verifies the text, and refuses it as an old screenshot.
func (c *cliSession) present(t *testing.T) {
	t.Helper()
	pngFile := filepath.Join(c.tmp, "qr.png")
	// By the identifier printed on the licence, as its holder knows it.
	r := wallet(t, c.env, "present", c.bl.ID, "--dir", c.dir, "--disclose", "domicile", "--png", pngFile, "--terminal").want(t, 0)
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
	r := wallet(t, c.env, "present", "--dir", c.dir, "--watch", "--interval", "1s", "--count", "2", "--text", "2").want(t, 0)
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
	id3 := claimedID(t, wallet(t, c.env, "claim", "--json", "--dir", other, "--server", c.s.URL, c.s.Issue(t, "business-license").ClaimCode).want(t, 0).stdout)
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
	if r := wallet(t, []string{passphraseEnv + "=wrong horse", "LC_ALL=zh_CN.UTF-8"}, "list", "--dir", c.dir).want(t, 1); !strings.Contains(r.stderr, "elicense-wallet list: 口令不正确。") || !strings.Contains(r.stderr, "detail: mobilesdk: wrong passphrase") {
		t.Errorf("wrong passphrase: %s", r.stderr)
	}
	for _, ref := range []string{"nope", "3", c.bl.ID + "#0000000000000000"} {
		if r := wallet(t, c.lang("zh_CN.UTF-8"), "show", "--dir", c.dir, ref).want(t, 1); !strings.Contains(r.stderr, "本证照包中没有这份证照。请核对证照标识，或使用证照列表中的序号。") {
			t.Errorf("show %s: %s", ref, r.stderr)
		}
	}
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
	// A removal names the licence, not its number, which moves.
	if r := wallet(t, c.env, "delete", "--dir", c.dir, "1").want(t, 2); !strings.Contains(r.stderr, "not its number") {
		t.Errorf("delete 1: %s", r.stderr)
	}
	wallet(t, c.env, "delete", "--dir", c.dir, c.id2).want(t, 0)
	wallet(t, c.env, "delete", "--dir", c.dir, c.id2).want(t, 1)
}

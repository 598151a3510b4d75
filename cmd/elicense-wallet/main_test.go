package main

import (
	"bytes"
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
	for _, args := range [][]string{{"--help"}, {"claim", "--help"}, {"list", "--help"}, {"show", "--help"}, {"present", "--help"}, {"delete", "--help"}} {
		r := wallet(t, nil, args...).want(t, 0)
		if !strings.Contains(r.stdout, "Usage: elicense-wallet") {
			t.Errorf("%v: %q", args, r.stdout)
		}
	}
	wallet(t, nil).want(t, 2)
	wallet(t, nil, "frobnicate").want(t, 2)
	wallet(t, nil, "show", "--passphrase", "x", "ID").want(t, 2) // no passphrase flag
	wallet(t, []string{passphraseEnv + "=secret"}, "show", "--dir", t.TempDir()).want(t, 2)
	if r := wallet(t, nil, "list", "--dir", t.TempDir()).want(t, 1); !strings.Contains(r.stderr, passphraseEnv) {
		t.Errorf("no passphrase: %q", r.stderr)
	}
}

func TestWalletCLIEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer")
	}
	s := issuertest.Start(t)
	bl := s.Issue(t, "business-license")
	dl := s.Issue(t, "drivers-license")
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "wallet")
	passFile := filepath.Join(tmp, "pass")
	os.WriteFile(passFile, []byte("correct horse\n"), 0o600)
	rootFile := filepath.Join(s.Data, "pki", "root.crt.pem")
	env := []string{passphraseEnv + "=correct horse"}

	id := strings.TrimSpace(wallet(t, nil, "claim", "--dir", dir, "--passphrase-file", passFile, "--server", s.URL, "--trust-root", rootFile, bl.ClaimCode).want(t, 0).stdout)
	if !strings.HasPrefix(id, bl.ID+"#") {
		t.Fatalf("claimed %q", id)
	}
	id2 := strings.TrimSpace(wallet(t, env, "claim", "--dir", dir, "--server", s.URL, dl.ClaimCode).want(t, 0).stdout)
	if r := wallet(t, env, "claim", "--dir", dir, "--server", s.URL, dl.ClaimCode).want(t, 1); !strings.Contains(r.stderr, "claim refused (403") {
		t.Errorf("reused code: %s", r.stderr)
	}

	list := wallet(t, env, "list", "--dir", dir).want(t, 0).stdout
	if strings.Count(list, "\n") != 2 || !strings.Contains(list, id) || !strings.Contains(list, id2) {
		t.Fatalf("list:\n%s", list)
	}
	show := wallet(t, env, "show", "--dir", dir, id).want(t, 0).stdout
	if !strings.Contains(show, "营业执照") || !strings.Contains(show, "* domicile") || !strings.Contains(show, "Verified:   true") {
		t.Fatalf("show:\n%s", show)
	}
	if jws := wallet(t, env, "show", "--dir", dir, "--credential", id).want(t, 0).stdout; strings.Count(jws, ".") != 2 {
		t.Fatalf("credential: %q", jws)
	}

	pngFile := filepath.Join(tmp, "qr.png")
	r := wallet(t, env, "present", id, "--dir", dir, "--disclose", "domicile", "--png", pngFile, "--terminal").want(t, 0)
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

	roots, _ := gm.ParseCertificatesPEM(s.RootPEM(t))
	b, err := trust.Verify(s.TrustBundle(t), trust.VerifyOptions{Roots: roots})
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

	// --watch prints a fresh presentation each interval.
	r = wallet(t, env, "present", "--dir", dir, "--watch", "--interval", "1s", "--count", "2", "--text", id2).want(t, 0)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2 || lines[0] == lines[1] || !strings.HasPrefix(lines[1], qr.Prefix) {
		t.Fatalf("watch: %q", r.stdout)
	}

	// Wrong passphrase, unknown licence, tampered file.
	if r := wallet(t, []string{passphraseEnv + "=wrong horse"}, "list", "--dir", dir).want(t, 1); !strings.Contains(r.stderr, "wrong passphrase") {
		t.Errorf("wrong passphrase: %s", r.stderr)
	}
	wallet(t, env, "show", "--dir", dir, "nope").want(t, 1)
	files, _ := filepath.Glob(filepath.Join(dir, "lic-*.el"))
	if len(files) != 2 {
		t.Fatalf("store files %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	raw[len(raw)-1] ^= 0x80
	os.WriteFile(files[0], raw, 0o600)
	r = wallet(t, env, "list", "--dir", dir).want(t, 1)
	if strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stderr, "corrupt") {
		t.Fatalf("list after tampering:\n%s\n%s", r.stdout, r.stderr)
	}
	wallet(t, env, "delete", "--dir", dir, id2).want(t, 0)
	wallet(t, env, "delete", "--dir", dir, id2).want(t, 1)
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSealEndToEnd: a holder gets a key, the agency makes a contract seal
// for it through the running server (a ledger event), the holder seals a
// document, and a counter with the pinned root verifies it; a changed
// document fails; the agency revokes the seal, again online, and a synced
// counter refuses it.
func TestSealEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	s := startServer(t, data)
	pass := filepath.Join(dir, "holder.pass")
	os.WriteFile(pass, []byte("holder secret\n"), 0o600)
	admin := filepath.Join(data, "admin.token")
	key, cert := filepath.Join(dir, "holder.key.pem"), filepath.Join(dir, "holder.crt.pem")
	elicense(t, nil, "seal", "keygen", "--name", "上海浦江示例网络科技有限公司", "--key-out", key, "--cert-out", cert, "--passphrase-file", pass).want(t, 0)
	sealFile := filepath.Join(dir, "contract.esl")
	makeArgs := []string{"seal", "make", "--agency", "11310000PDY100010H", "--holder-name", "上海浦江示例网络科技有限公司",
		"--holder-code", "91310115MA1FPA014G", "--type", "4", "--signer-cert", cert, "--out", sealFile, "--server", s.url, "--token-file", admin}
	// The service's checks apply to the CLI as to any caller.
	if r := elicense(t, nil, append(slices.Clone(makeArgs), "--years", "11")...); r.code != 1 || !strings.Contains(r.stderr, "outside 1..10") {
		t.Fatalf("seal make --years 11: %d %s", r.code, r.stderr)
	}
	forged := filepath.Join(dir, "forged.token")
	os.WriteFile(forged, []byte("eyJhbGciOiJub25lIn0.e30.\n"), 0o600)
	if r := elicense(t, nil, append(slices.Clone(makeArgs[:len(makeArgs)-2]), "--token-file", forged)...); r.code != 1 || !strings.Contains(r.stderr, "server answered 401") {
		t.Fatalf("seal make with a bad token: %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(sealFile); err == nil {
		t.Fatal("a refused seal make wrote a file")
	}
	r := elicense(t, nil, makeArgs...)
	r.want(t, 0)
	if !strings.Contains(r.stdout, "合同专用章") || !strings.Contains(r.stdout, "ledger index 0") {
		t.Fatalf("seal make: %s", r.stdout)
	}
	doc := filepath.Join(dir, "contract.txt")
	os.WriteFile(doc, []byte("甲方与乙方签订本合同。"), 0o644)
	env := []string{"ELICENSE_SEAL_PASSPHRASE=holder secret"}
	elicense(t, env, "seal", "sign", "--seal", sealFile, "--key", key, "--cert", cert, doc).want(t, 0)

	verify, err := buildVerify()
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "counter")
	run := func(args ...string) (string, int) {
		n := 1 // flags go after the command word(s)
		if args[0] == "trust" {
			n = 2
		}
		full := append(append(append([]string{}, args[:n]...), "--store", store), args[n:]...)
		cmd := exec.Command(verify, full...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := run("trust", "add", filepath.Join(data, "pki", "root.crt.pem")); code != 0 {
		t.Fatalf("trust add: %s", out)
	}
	if out, code := run("seal", doc, doc+".ses"); code != 0 || !strings.HasPrefix(out, "VALID ") {
		t.Fatalf("seal verify: %d %s", code, out)
	}
	if out, _ := run("seal", doc, doc+".ses"); !strings.Contains(out, "revocation not checked") {
		t.Fatalf("an unsynced counter did not say revocation was unchecked: %s", out)
	}
	original, _ := os.ReadFile(doc)
	os.WriteFile(doc, []byte("甲方与乙方签订本合同。附加条款"), 0o644)
	if out, code := run("seal", doc, doc+".ses"); code != 1 || !strings.HasPrefix(out, "DOCUMENT_MODIFIED ") {
		t.Fatalf("modified document: %d %s", code, out)
	}
	os.WriteFile(doc, original, 0o644)

	// The seal is revoked; a counter that syncs refuses it from then on.
	esid := strings.Fields(strings.TrimPrefix(r.stdout, "seal "))[0]
	revoke := []string{"seal", "revoke", "--esid", esid, "--reason", "遗失", "--server", s.url, "--token-file", admin}
	elicense(t, nil, revoke...).want(t, 0)
	if r := elicense(t, nil, revoke...); r.code != 1 || !strings.Contains(r.stderr, "already revoked") {
		t.Fatalf("second revoke: %d %s", r.code, r.stderr)
	}
	if out, code := run("sync", "--from", s.url); code != 0 {
		t.Fatalf("sync: %s", out)
	}
	if out, code := run("seal", doc, doc+".ses"); code != 1 || !strings.HasPrefix(out, "SEAL_REVOKED ") {
		t.Fatalf("revoked seal: %d %s", code, out)
	}
	s.stop(t)
	v := elicense(t, nil, "ledger", "verify", "--data", data)
	v.want(t, 0)
	if !strings.Contains(v.stdout, " 2 entries") {
		t.Fatalf("ledger: %s", v.stdout)
	}
}

// buildVerify builds the counter CLI next to the elicense binary.
func buildVerify() (string, error) {
	bin, err := binary()
	if err != nil {
		return "", err
	}
	out := filepath.Join(filepath.Dir(bin), "elicense-verify")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	b, err := exec.Command("go", "build", "-o", out, "../elicense-verify").CombinedOutput()
	if err != nil {
		return "", &buildError{string(b)}
	}
	return out, nil
}

type buildError struct{ out string }

func (e *buildError) Error() string { return "building elicense-verify: " + e.out }

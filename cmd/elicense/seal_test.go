package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSealEndToEnd: a holder gets a key, the agency makes a contract seal
// for it (a ledger event), the holder seals a document, and a counter
// with the pinned root verifies it; a changed document fails.
func TestSealEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	startServer(t, data).stop(t) // first start makes the PKI and the ledger
	env := []string{"ELICENSE_SEAL_PASSPHRASE=holder secret", "ELICENSE_PASSPHRASE_FILE=" + filepath.Join(data, "passphrase")}
	key, cert := filepath.Join(dir, "holder.key.pem"), filepath.Join(dir, "holder.crt.pem")
	elicense(t, env, "seal", "keygen", "--name", "上海浦江示例网络科技有限公司", "--key-out", key, "--cert-out", cert).want(t, 0)
	sealFile := filepath.Join(dir, "contract.esl")
	r := elicense(t, env, "seal", "make", "--agency", "11310000PDY100010H", "--holder-name", "上海浦江示例网络科技有限公司",
		"--holder-code", "91310115MA1FPA014G", "--type", "4", "--signer-cert", cert, "--out", sealFile, "--data", data)
	r.want(t, 0)
	if !strings.Contains(r.stdout, "合同专用章") || !strings.Contains(r.stdout, "ledger index 0") {
		t.Fatalf("seal make: %s", r.stdout)
	}
	doc := filepath.Join(dir, "contract.txt")
	os.WriteFile(doc, []byte("甲方与乙方签订本合同。"), 0o644)
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
	elicense(t, env, "seal", "revoke", "--agency", "11310000PDY100010H", "--esid", esid, "--reason", "遗失", "--data", data).want(t, 0)
	s := startServer(t, data)
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

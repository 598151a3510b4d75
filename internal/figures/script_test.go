package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// figuresScript runs scripts/figures with args, a fake go first on PATH:
// `go test` prints the file $FAKE_OUT and exits $FAKE_RC, and records
// its arguments in $FAKE_ARGS; every other go command is the real one.
func figuresScript(t *testing.T, fakeOut string, fakeRC string, args ...string) (stdout, stderr, goArgs string, code int) {
	t.Helper()
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	fake := "#!/bin/sh\nif [ \"$1\" = test ]; then echo \"$@\" >>\"$FAKE_ARGS\"; cat \"$FAKE_OUT\"; exit \"$FAKE_RC\"; fi\nexec \"$REAL_GO\" \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(t.TempDir(), "args")
	cmd := exec.Command(filepath.Join(root, "scripts", "figures"), append(args, "--out", t.TempDir())...)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "REAL_GO="+realGo,
		"FAKE_OUT="+fakeOut, "FAKE_RC="+fakeRC, "FAKE_ARGS="+argsFile)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(argsFile)
	return o.String(), e.String(), string(a), cmd.ProcessState.ExitCode()
}

// TestScript drives scripts/figures: the go test command it runs, the
// table it prints, and its loud failures (a benchmark failing, a value
// missing, no PostgreSQL where one was asked for, bad flags).
func TestScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the figures tool")
	}
	captured, _ := filepath.Abs(filepath.Join("testdata", "quick", "gm.txt"))
	dir := t.TempDir()
	partial := filepath.Join(dir, "partial.txt")
	failing := filepath.Join(dir, "failing.txt")
	src, _ := os.ReadFile(captured)
	var kept []string
	for _, l := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(l, "BenchmarkSM3_1KiB") {
			kept = append(kept, l)
		}
	}
	os.WriteFile(partial, []byte(strings.Join(kept, "\n")), 0o644)
	os.WriteFile(failing, []byte("--- FAIL: BenchmarkSign-2\n    bench_test.go:31: boom\nFAIL\nFAIL\telicense/internal/gm\t0.1s\n"), 0o644)

	tests := []struct {
		name        string
		out, rc     string
		args        []string
		code        int
		stdout      []string
		stderr      []string
		wantGoTests string
	}{
		{name: "a run", out: captured, rc: "0", args: []string{"--quick", "--only", "^gm$", "--pg", "none"},
			stdout:      []string{"CPU: ", "| SM2 sign / verify, 256 B | `internal/gm` `BenchmarkSign`, `BenchmarkVerify` | ", " µs / ", "| seal verification | `verifier/seal` `BenchmarkVerifySignature` | not run (`--only`) |"},
			wantGoTests: "test ./internal/gm -run ^$ -bench ^(BenchmarkSign|BenchmarkVerify|BenchmarkSM3_1KiB)$ -benchtime 100ms -count 1 -timeout 30m\n"},
		{name: "-count and the markdown", out: captured, rc: "0", args: []string{"--only", "^gm$", "--pg", "none", "--count", "3", "--markdown"},
			stdout:      []string{"Measured with `scripts/figures` on CPU: ", tableHeader},
			wantGoTests: "test ./internal/gm -run ^$ -bench ^(BenchmarkSign|BenchmarkVerify|BenchmarkSM3_1KiB)$ -benchtime 2s -count 3 -timeout 30m\n"},
		{name: "a value missing", out: partial, rc: "0", args: []string{"--quick", "--only", "^gm$", "--pg", "none"}, code: 1,
			stdout: []string{"**missing**"},
			stderr: []string{"BenchmarkSM3_1KiB ns/op of run gm: not in the output", "figures: FAILED"}},
		{name: "a benchmark failing", out: failing, rc: "1", args: []string{"--quick", "--only", "^gm$", "--pg", "none"}, code: 1,
			stderr: []string{"run gm (go test ./internal/gm): failed: --- FAIL: BenchmarkSign-2", "go test failed in: gm"}},
		{name: "no PostgreSQL at the DSN given", out: captured, rc: "0", args: []string{"--pg", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}, code: 2,
			stderr: []string{"--pg: "}}, // no server answers, or no psql to ask
		{name: "a bad count", out: captured, rc: "0", args: []string{"--count", "0"}, code: 2, stderr: []string{"--count 0: not a positive number"}},
		{name: "no run matches", out: captured, rc: "0", args: []string{"--only", "^nothing$", "--pg", "none"}, code: 2, stderr: []string{"no run matches"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, goTests, code := figuresScript(t, tt.out, tt.rc, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tt.code, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.wantGoTests != "" && goTests != tt.wantGoTests {
				t.Errorf("go %s\nwant go %s", goTests, tt.wantGoTests)
			}
		})
	}
}

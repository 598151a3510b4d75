package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"elicense/internal/issuertest"
)

// readmeBlocks are the README's ```sh blocks, in order: the tours its
// readers copy. The quick start's two commands are not among them (one
// serves until stopped, the other is the whole test run); this test starts
// the same server itself, and CI is the test command.
func readmeBlocks(t *testing.T) (readme string, blocks []string) {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?ms)^```sh\n(.*?)^```$").FindAllStringSubmatch(string(raw), -1) {
		blocks = append(blocks, m[1])
	}
	return string(raw), blocks
}

// TestReadmeTour runs every command of the README's tours, as a reader
// would, from a directory laid out like the repository root (its source
// linked in), against a fresh development server: the agency's, the
// holder's and the clerk's, with the programs installed by the README's
// own go install lines. Each block runs under set -e, so a command that
// fails, or a check in it that does not hold, fails the test.
func TestReadmeTour(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the three programs")
	}
	for _, tool := range []string{"curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's tour needs %s (scripts/test installs it: apt-get install -y curl jq)", tool)
		}
	}
	readme, blocks := readmeBlocks(t)
	for _, cmd := range []string{"go run ./cmd/elicense serve", "scripts/test"} {
		if !strings.Contains(readme, "\n    "+cmd) {
			t.Errorf("the README's quick start does not give %q", cmd)
		}
	}
	if len(blocks) < 3 {
		t.Fatalf("the README has %d sh blocks; want the agency's, the holder's and the clerk's", len(blocks))
	}
	root := tourRoot(t)
	s := startServer(t, filepath.Join(root, "elicense-data"))
	host := strings.TrimPrefix(s.url, "http://")
	script := "set -euo pipefail\nset -x\n" + strings.Join(blocks, "\n")
	script = strings.NewReplacer("localhost:8080", host, "127.0.0.1:8080", host).Replace(script)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = root
	home := filepath.Join(root, "home")
	os.Mkdir(home, 0o700)
	cmd.Env = append(issuertest.Env(), "HOME="+home, "GOBIN="+filepath.Join(root, "bin"),
		"PATH="+filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GOCACHE="+goEnv(t, "GOCACHE"), "GOMODCACHE="+goEnv(t, "GOMODCACHE"), "GOPATH="+goEnv(t, "GOPATH"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("the README's tour failed (%v):\n%s\nserver log:\n%s", err, out.String(), s.stderr.String())
	}
	t.Logf("the README's %d tour blocks ran in %v", len(blocks), time.Since(start).Round(time.Millisecond))
	for _, want := range []string{"VALID_STATIC", "revoked", "REVOKED"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the tour's output has no %q:\n%s", want, out.String())
		}
	}
}

// tourRoot is a directory that looks like the repository root to the
// README's commands (go install ./cmd/…, the sample records), whose own
// files (data, licence.json, qr.png) stay out of the checkout.
func tourRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, name := range []string{"go.mod", "go.sum", "README.md", "cmd", "certs", "docs", "internal", "issuer", "mobile-sdk", "verifier", "scripts"} {
		abs, err := filepath.Abs(filepath.Join("../..", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestCommandsDocumented checks that every command docs/commands.md names
// exists: its program's help for it exits 0.
func TestCommandsDocumented(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the three programs")
	}
	raw, err := os.ReadFile("../../docs/commands.md")
	if err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{}
	if bins["elicense"], err = binary(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, p := range []string{"elicense-verify", "elicense-wallet"} {
		bins[p] = filepath.Join(dir, p)
		if out, err := exec.Command("go", "build", "-o", bins[p], "../"+p).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", p, err, out)
		}
	}
	seen := map[string]bool{}
	for _, row := range regexp.MustCompile(`(?m)^\| (.*?) \| `).FindAllStringSubmatch(string(raw), -1) {
		prog := ""
		for _, code := range regexp.MustCompile("`([^`]*)`").FindAllStringSubmatch(row[1], -1) {
			words := strings.Fields(code[1])
			if len(words) > 1 && bins[words[0]] != "" {
				prog, words = words[0], words[1:]
			}
			if prog == "" || len(words) == 0 || strings.HasPrefix(words[0], "-") {
				continue
			}
			name := prog + " " + words[0]
			if seen[name] {
				continue
			}
			seen[name] = true
			if out, err := exec.Command(bins[prog], "help", words[0]).CombinedOutput(); err != nil {
				t.Errorf("docs/commands.md names %q, but %s help %s: %v\n%s", code[1], prog, words[0], err, out)
			}
		}
	}
	t.Logf("%d commands checked", len(seen))
	if len(seen) < 30 {
		t.Errorf("found only %d commands in docs/commands.md: %v", len(seen), seen)
	}
}

package vlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/verifier"
)

func TestChainAndTamper(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i, c := range []verifier.Code{verifier.Valid, verifier.Revoked, verifier.Malformed, verifier.ValidStatic} {
		v := verifier.Verdict{Code: c, Licence: &verifier.Licence{ID: "1.2.156.3005.2.X", Class: "drivers-license", HolderName: "王磊"}, StatusAge: time.Hour}
		if err := l.Append(FromVerdict(v, at.Add(time.Duration(i)*time.Second), "counter-1")); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "王磊") {
		t.Fatal("the log holds the holder's name")
	}
	var out bytes.Buffer
	if n, _, err := Verify(bytes.NewReader(data), &out); err != nil || n != 4 || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	// Reopening continues the chain.
	l, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Append(FromVerdict(verifier.Verdict{Code: verifier.Replayed}, at, "counter-1"))
	l.Close()
	data, _ = os.ReadFile(path)
	if n, _, err := Verify(bytes.NewReader(data), nil); err != nil || n != 5 {
		t.Fatalf("after reopen: %d %v", n, err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	tampers := map[string]string{
		"edited verdict":  strings.Replace(string(data), `"code":"REVOKED"`, `"code":"VALID"`, 1),
		"deleted line":    lines[0] + strings.Join(lines[2:], ""),
		"reordered lines": lines[1] + lines[0] + strings.Join(lines[2:], ""),
		"extra field":     strings.Replace(string(data), `"seq":1,`, `"seq":1,"x":1,`, 1),
		"respaced":        strings.Replace(string(data), `"seq":1,`, `"seq": 1,`, 1),
	}
	for name, bad := range tampers {
		if _, _, err := Verify(strings.NewReader(bad), nil); !errors.Is(err, ErrTampered) {
			t.Errorf("%s: %v", name, err)
		}
	}
	os.WriteFile(path, []byte(tampers["edited verdict"]), 0o600)
	if _, err := Open(path); !errors.Is(err, ErrTampered) {
		t.Fatalf("open tampered: %v", err)
	}
}

// TestTwoWriters: two Logs on one file (two processes, serialised by the
// store lock) continue each other's chain.
func TestTwoWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i, l := range []*Log{a, b, b, a, b, a, a} {
		if err := l.Append(FromVerdict(verifier.Verdict{Code: verifier.Valid}, at.Add(time.Duration(i)*time.Second), "c")); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := os.ReadFile(path)
	if n, _, err := Verify(bytes.NewReader(data), nil); err != nil || n != 7 {
		t.Fatalf("%d %v", n, err)
	}
	// Replaced (moved aside): the next Append starts a new chain.
	os.Rename(path, path+".old")
	if err := b.Append(FromVerdict(verifier.Verdict{Code: verifier.Valid}, at, "c")); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if n, _, err := Verify(bytes.NewReader(data), nil); err != nil || n != 1 {
		t.Fatalf("after replace: %d %v", n, err)
	}
	// An incomplete last line is reported, not continued.
	os.WriteFile(path, append(data, `{"seq":2`...), 0o600)
	if err := a.Append(FromVerdict(verifier.Verdict{Code: verifier.Valid}, at, "c")); !errors.Is(err, ErrTampered) {
		t.Fatalf("incomplete line: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte(`{"seq":1,"time":"2026-03-01T08:00:00Z","counter":"c","code":"VALID","status_age_s":0,"prev":"0000000000000000000000000000000000000000000000000000000000000000"}` + "\n"))
	f.Add([]byte("{}\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		n, _, err := Verify(bytes.NewReader(data), &out)
		if err == nil && n > 0 && !bytes.HasPrefix(data, out.Bytes()) {
			t.Fatalf("copied lines that are not the input's")
		}
	})
}

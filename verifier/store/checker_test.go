package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/verifier"
	"elicense/verifier/vlog"
)

// sharedStore syncs a store from a fake issuer and returns presentations
// of a bound licence, one a second apart back from now (distinct: a
// presentation's digest covers its second), inside their window for the
// next 60 s - n.
func sharedStore(t *testing.T, n int) (*Store, []string) {
	t.Helper()
	w, _, srv, s := setup(t)
	if _, err := syncNow(s, srv.URL, time.Now()); err != nil {
		t.Fatal(err)
	}
	l := must(w.Issue(w.Police, "drivers-license", "gab-1", 1, true, nil))
	texts := make([]string, n)
	now := time.Now()
	for i := range texts {
		texts[i] = must(l.Holding.Present(l.Device, now.Add(-time.Duration(i)*time.Second)))
	}
	return s, texts
}

func newChecker(t *testing.T, s *Store) (*verifier.Verifier, *Checker) {
	t.Helper()
	c, err := s.Load(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v := verifier.New(c.State(), verifier.Options{})
	ch, err := s.NewChecker(v, CheckerOptions{Counter: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return v, ch
}

// TestHelperChecker is not a test: run as a child process by the tests
// below, it checks each line of $CHECKER_TEXTS against the store
// $CHECKER_STORE and prints one verdict code per line.
func TestHelperChecker(t *testing.T) {
	dir := os.Getenv("CHECKER_STORE")
	if dir == "" {
		t.Skip("helper process")
	}
	s := must(Open(dir))
	c := must(s.Load(time.Now()))
	v := verifier.New(c.State(), verifier.Options{})
	ch, err := s.NewChecker(v, CheckerOptions{Counter: os.Getenv("CHECKER_NAME")})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(3)
	}
	data := must(os.ReadFile(os.Getenv("CHECKER_TEXTS")))
	// Start together: wait for the go file to appear.
	for go_ := os.Getenv("CHECKER_GO"); go_ != ""; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(go_); err == nil {
			break
		}
	}
	out := bufio.NewWriter(os.Stdout)
	for _, text := range strings.Split(string(data), "\n") {
		vd, err := ch.Check(text, time.Now())
		if err != nil {
			fmt.Fprintln(out, "ERROR", err)
			continue
		}
		fmt.Fprintln(out, vd.Code)
	}
	out.Flush()
	ch.Close()
	os.Exit(0)
}

// runCheckers runs one child process per text list against the store at
// once and returns each one's verdict codes.
func runCheckers(t *testing.T, s *Store, lists [][]string) [][]string {
	t.Helper()
	exe := must(os.Executable())
	dir := t.TempDir()
	goFile := filepath.Join(dir, "go")
	outs := make([]bytes.Buffer, len(lists))
	cmds := make([]*exec.Cmd, len(lists))
	for i, texts := range lists {
		path := filepath.Join(dir, fmt.Sprintf("texts-%d", i))
		if err := os.WriteFile(path, []byte(strings.Join(texts, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, "-test.run", "^TestHelperChecker$")
		cmd.Env = append(os.Environ(), "CHECKER_STORE="+s.Dir(), "CHECKER_TEXTS="+path, "CHECKER_GO="+goFile, fmt.Sprintf("CHECKER_NAME=p%d", i))
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	os.WriteFile(goFile, nil, 0o600)
	res := make([][]string, len(lists))
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, outs[i].String())
		}
		res[i] = strings.Fields(outs[i].String())
		if len(res[i]) != len(lists[i]) {
			t.Fatalf("child %d: %d verdicts for %d texts:\n%s", i, len(res[i]), len(lists[i]), outs[i].String())
		}
	}
	return res
}

// TestSharedReplayAcrossProcesses: several processes check the same
// presentations against one store at once; each presentation is VALID in
// exactly one of them and REPLAYED in every other, and the log's chain
// holds every check in a contiguous sequence.
func TestSharedReplayAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	s, texts := sharedStore(t, 30)
	const procs = 3
	lists := make([][]string, procs)
	for i := range lists {
		lists[i] = append([]string(nil), texts...)
		if i%2 == 1 { // another order in every other process
			for a, b := 0, len(texts)-1; a < b; a, b = a+1, b-1 {
				lists[i][a], lists[i][b] = lists[i][b], lists[i][a]
			}
		}
	}
	res := runCheckers(t, s, lists)
	valid := map[string]int{}
	for i, codes := range res {
		for j, code := range codes {
			switch code {
			case "VALID":
				valid[lists[i][j]]++
			case "REPLAYED":
			default:
				t.Errorf("child %d text %d: %s", i, j, code)
			}
		}
	}
	for i, text := range texts {
		if valid[text] != 1 {
			t.Errorf("presentation %d VALID %d times across %d processes", i, valid[text], procs)
		}
	}
	if n, _, err := s.VerifyLog(nil); err != nil || n != procs*uint64(len(texts)) {
		t.Fatalf("log: %d records, %v", n, err)
	}
	// A later process in this one sees them all as replays.
	_, ch := newChecker(t, s)
	if vd, err := ch.Check(texts[0], time.Now()); err != nil || vd.Code != verifier.Replayed {
		t.Fatalf("after the children: %s %v", vd.Code, err)
	}
}

// TestInterleavedLog: processes checking different presentations and
// garbage at once leave one unbroken chain.
func TestInterleavedLog(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	s, texts := sharedStore(t, 40)
	// One Checker in this process is open all the while: it must follow.
	_, ch := newChecker(t, s)
	lists := [][]string{texts[:20], texts[20:], {"EL1:garbage", "x", "EL1:A", "EL1:B", "EL1:C", "y", "z"}}
	for i, codes := range runCheckers(t, s, lists) {
		for j, code := range codes {
			if want := "VALID"; i == 2 {
				if code != "MALFORMED" {
					t.Errorf("garbage %d: %s", j, code)
				}
			} else if code != want {
				t.Errorf("child %d text %d: %s", i, j, code)
			}
		}
	}
	if vd, err := ch.Check(texts[5], time.Now()); err != nil || vd.Code != verifier.Replayed {
		t.Fatalf("long-open checker: %s %v", vd.Code, err)
	}
	var out bytes.Buffer
	n, _, err := s.VerifyLog(&out)
	if err != nil || n != 48 {
		t.Fatalf("log: %d %v", n, err)
	}
	for i, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, fmt.Sprintf(`{"seq":%d,`, i+1)) {
			t.Fatalf("line %d: %s", i+1, line)
		}
	}
}

// TestCheckerConcurrentInProcess: two Checkers of one process (like serve
// and a scan in one binary) and concurrent calls share correctly.
func TestCheckerConcurrentInProcess(t *testing.T) {
	s, texts := sharedStore(t, 10)
	_, a := newChecker(t, s)
	_, b := newChecker(t, s)
	var mu sync.Mutex
	valid := map[string]int{}
	var wg sync.WaitGroup
	for _, ch := range []*Checker{a, b, a, b} {
		wg.Go(func() {
			for _, text := range texts {
				vd, err := ch.Check(text, time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				if vd.Code == verifier.Valid {
					mu.Lock()
					valid[text]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for i, text := range texts {
		if valid[text] != 1 {
			t.Errorf("presentation %d VALID %d times", i, valid[text])
		}
	}
	if n, _, err := s.VerifyLog(nil); err != nil || n != 40 {
		t.Fatalf("log: %d %v", n, err)
	}
}

func TestReplayCompaction(t *testing.T) {
	defer func(n int) { compactMin = n }(compactMin)
	compactMin = 16
	dir := t.TempDir()
	r := &replayLog{path: filepath.Join(dir, replayFile), window: 2 * time.Minute}
	defer r.close()
	v := verifier.New(verifier.State{}, verifier.Options{})
	now := time.Unix(1_800_000_000, 0)
	for i := range 200 {
		at := now.Add(time.Duration(i) * time.Second)
		if err := r.catchUp(v, at); err != nil {
			t.Fatal(err)
		}
		if err := r.add(verifier.Seen{Digest: [32]byte{byte(i), byte(i >> 8)}, Until: at.Add(10 * time.Second)}, at); err != nil {
			t.Fatal(err)
		}
		if n := r.records(); n > 4*max(compactMin, 11) {
			t.Fatalf("after %d adds the file holds %d records", i+1, n)
		}
	}
	data := must(os.ReadFile(r.path))
	seen, err := parseReplay(data)
	if err != nil {
		t.Fatal(err)
	}
	last := now.Add(199 * time.Second)
	live := 0
	for _, s := range seen {
		if s.Until.After(last) {
			live++
		}
	}
	if live != 10 {
		t.Fatalf("%d live records of %d; want the last 10 kept", live, len(seen))
	}
	// A second reader that started before a compaction reads the new file.
	v2 := verifier.New(verifier.State{}, verifier.Options{})
	r2 := &replayLog{path: r.path, window: time.Minute}
	defer r2.close()
	if err := r2.catchUp(v2, last); err != nil {
		t.Fatal(err)
	}
}

func TestReplayRecordRoundTrip(t *testing.T) {
	s := verifier.Seen{Digest: [32]byte{1, 2, 3}, Until: time.Unix(1_800_000_000, 1)}
	got, err := parseReplay(appendReplayRecord([]byte(replayMagic), s))
	if err != nil || len(got) != 1 || got[0].Digest != s.Digest || got[0].Until.Unix() != 1_800_000_001 {
		t.Fatalf("%+v %v (the window end rounds up)", got, err)
	}
}

// TestTornWrites: a record or log line a crash left half written (the
// check that wrote it never returned) is cut off, with a note, instead of
// stopping the counter or reading as tampering; the records before it
// still count.
func TestTornWrites(t *testing.T) {
	s, texts := sharedStore(t, 2)
	_, ch := newChecker(t, s)
	if vd, err := ch.Check(texts[0], time.Now()); err != nil || vd.Code != verifier.Valid {
		t.Fatalf("%s %v", vd.Code, err)
	}
	ch.Close()
	appendTo := func(name string, b []byte) {
		f := must(os.OpenFile(filepath.Join(s.Dir(), name), os.O_WRONLY|os.O_APPEND, 0))
		defer f.Close()
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	appendTo(replayFile, make([]byte, replayRecord-3))
	appendTo(logFile, []byte(`{"seq":2,"time":"2026-`))
	if _, _, err := s.VerifyLog(nil); err != nil {
		t.Fatalf("log verify after a torn line: %v", err)
	}
	appendTo(logFile, []byte(`{"seq":2,"time":"2026-`))
	var notes []string
	v := verifier.New(must(s.Load(time.Now())).State(), verifier.Options{})
	ch2, err := s.NewChecker(v, CheckerOptions{Logf: func(f string, a ...any) { notes = append(notes, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatalf("NewChecker after torn writes: %v", err)
	}
	defer ch2.Close()
	if len(notes) != 2 || !strings.Contains(notes[0], "half written") || !strings.Contains(notes[1], "unfinished last line") {
		t.Errorf("notes %q", notes)
	}
	if vd, err := ch2.Check(texts[0], time.Now()); err != nil || vd.Code != verifier.Replayed {
		t.Fatalf("the record before the torn one was lost: %s %v", vd.Code, err)
	}
	if vd, err := ch2.Check(texts[1], time.Now()); err != nil || vd.Code != verifier.Valid {
		t.Fatalf("%s %v", vd.Code, err)
	}
	if n, _, err := s.VerifyLog(nil); err != nil || n != 3 {
		t.Fatalf("log: %d records, %v", n, err)
	}
	if fi := must(os.Stat(filepath.Join(s.Dir(), replayFile))); (fi.Size()-int64(len(replayMagic)))%replayRecord != 0 {
		t.Fatalf("replay memory of %d bytes", fi.Size())
	}
}

// TestDamagedStoreFiles: a damaged replay memory or lock file fails every
// check closed with a message that says how to recover; never VALID.
func TestDamagedStoreFiles(t *testing.T) {
	good := appendReplayRecord(appendReplayRecord([]byte(replayMagic), verifier.Seen{Digest: [32]byte{1}, Until: time.Now().Add(time.Minute)}),
		verifier.Seen{Digest: [32]byte{2}, Until: time.Now().Add(time.Minute)})
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 1; return b }
	cases := []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"replay bad header", replayFile, append([]byte("ELRPLY9\n"), good[8:]...), "bad header"},
		{"replay text", replayFile, []byte("0123abcd 1800000000\n"), "bad header"},
		{"replay digest bit flip", replayFile, flip(8 + 44 + 5), "record 1: checksum mismatch"},
		{"replay time bit flip", replayFile, flip(8 + 35), "record 0: checksum mismatch"},
		{"lock other content", lockFile, []byte("something else\n"), "expected"},
		{"lock binary", lockFile, bytes.Repeat([]byte{0xff}, 4096), "expected"},
	}
	cases = append(cases, []struct {
		name, file string
		data       []byte
		want       string
	}{{"replay symlink", replayFile, nil, "not a regular file"}, {"lock directory", lockFile, nil, "not a regular file"}, {"lock symlink", lockFile, nil, "not a regular file"}}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, texts := sharedStore(t, 1)
			path := filepath.Join(s.Dir(), tc.file)
			var err error
			switch {
			case strings.HasSuffix(tc.name, "symlink"):
				os.WriteFile(path+".target", good, 0o600)
				err = os.Symlink(path+".target", path)
			case strings.HasSuffix(tc.name, "directory"):
				err = os.Mkdir(path, 0o700)
			default:
				err = os.WriteFile(path, tc.data, 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			v := verifier.New(must(s.Load(time.Now())).State(), verifier.Options{})
			ch, err := s.NewChecker(v, CheckerOptions{})
			if err == nil {
				ch.Close()
			}
			var de *DamagedError
			if !errors.As(err, &de) || !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tc.want) || de.Recovery == "" {
				t.Fatalf("NewChecker: %v", err)
			}
			if tc.file == replayFile && !strings.Contains(err.Error(), "move replay.bin aside; presentations seen in the last 2m0s") {
				t.Fatalf("recovery: %v", err)
			}
			_ = texts
		})
	}
	// Damage appearing while a checker runs fails the next check closed.
	s, texts := sharedStore(t, 2)
	_, ch := newChecker(t, s)
	if vd, err := ch.Check(texts[0], time.Now()); err != nil || vd.Code != verifier.Valid {
		t.Fatalf("%s %v", vd.Code, err)
	}
	f := must(os.OpenFile(filepath.Join(s.Dir(), replayFile), os.O_WRONLY|os.O_APPEND, 0))
	f.Write(bytes.Repeat([]byte("junk"), replayRecord/4)) // a whole record that is not one
	f.Close()
	if vd, err := ch.Check(texts[1], time.Now()); !errors.Is(err, ErrDamaged) || vd.Code.OK() {
		t.Fatalf("after damage: %s %v", vd.Code, err)
	}
	// Moving it aside, as the message says, recovers.
	os.Rename(filepath.Join(s.Dir(), replayFile), filepath.Join(s.Dir(), "replay.bin.damaged"))
	if vd, err := ch.Check(texts[1], time.Now()); err != nil || vd.Code != verifier.Valid {
		t.Fatalf("after recovery: %s %v", vd.Code, err)
	}
	// A line forged into the log, or a log cut short, stops checks too,
	// until it is moved aside.
	logPath := filepath.Join(s.Dir(), logFile)
	data := must(os.ReadFile(logPath))
	lines := bytes.SplitAfter(data, []byte("\n"))
	for name, bad := range map[string][]byte{
		"forged line": append(bytes.Clone(data), bytes.Replace(lines[0], []byte(`"seq":1`), []byte(`"seq":4`), 1)...),
		"cut short":   lines[0],
	} {
		os.WriteFile(logPath, bad, 0o600)
		if _, err := ch.Check("x", time.Now()); !errors.Is(err, vlog.ErrTampered) {
			t.Fatalf("%s: %v", name, err)
		}
		os.WriteFile(logPath, data, 0o600)
	}
	os.Rename(logPath, logPath+".tampered")
	if vd, err := ch.Check("x", time.Now()); err != nil || vd.Code != verifier.Malformed {
		t.Fatalf("fresh log: %s %v", vd.Code, err)
	}
	if n, _, err := s.VerifyLog(nil); err != nil || n != 1 {
		t.Fatalf("fresh log: %d %v", n, err)
	}
}

func FuzzParseReplay(f *testing.F) {
	f.Add([]byte(nil))
	f.Add([]byte(replayMagic))
	f.Add(appendReplayRecord([]byte(replayMagic), verifier.Seen{Digest: [32]byte{9}, Until: time.Unix(1_800_000_000, 0)}))
	f.Add([]byte("ELRPLY1\nshort"))
	f.Fuzz(func(t *testing.T, data []byte) {
		seen, err := parseReplay(data)
		if err != nil {
			return
		}
		// What parses re-encodes to the same bytes.
		out := []byte(nil)
		if len(data) > 0 {
			out = []byte(replayMagic)
		}
		for _, s := range seen {
			out = appendReplayRecord(out, s)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("re-encoding differs")
		}
	})
}

func FuzzParseLock(f *testing.F) {
	f.Add([]byte(nil))
	f.Add([]byte(lockHeader))
	f.Add([]byte("elicense-verify store v2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := parseLock(data); err == nil && len(data) != 0 && string(data) != lockHeader {
			t.Fatalf("accepted %q", data)
		}
	})
}

package ledger_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
)

// The crash test. TestCrash runs TestCrashChild in a child process (this
// test binary, re-executed), which appends with many goroutines and prints
// "ACK <index> <leaf hash>" after each Append returns. The parent kills
// the child with SIGKILL at a random moment, reopens the log and checks
// that every acknowledged index is present with the acknowledged hash,
// that fsck passes, and that appends continue at the right index.
//
// Cycles: 3 by default (2 with -short); more with
//
//	go test ./internal/ledger -run '^TestCrash$' -ledger.crash-cycles=50
//
// or LEDGER_CRASH_CYCLES=50 in the environment (useful with ./...).
var crashCycles = flag.Int("ledger.crash-cycles", 0, "SIGKILL cycles for TestCrash (default 3, or $LEDGER_CRASH_CYCLES)")

const crashEnv = "ELICENSE_LEDGER_CRASH_CHILD"

func crashEntry(w, i int) []byte {
	return fmt.Appendf(testEntry(i), " pid-%d-writer-%d %d", os.Getpid(), w, time.Now().UnixNano())
}

// TestCrashChild is the child half of TestCrash; it is skipped unless
// run by TestCrash.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestCrash")
	}
	interval := time.Duration(rand.IntN(3)) * 20 * time.Millisecond // 0 (default 1 s), 20 ms, 40 ms
	l, err := openAt(path, nil, ledger.Options{Origin: testOrigin, Signer: testKey(t), CheckpointInterval: interval})
	if err != nil {
		fmt.Printf("ERR open: %v\n", err)
		os.Exit(3)
	}
	fmt.Printf("READY %d\n", l.Size())
	var mu sync.Mutex
	for w := range 32 {
		go func() {
			for i := 0; ; i++ {
				e := crashEntry(w, i)
				idx, err := l.Append(context.Background(), e)
				if err != nil {
					fmt.Printf("ERR append: %v\n", err)
					os.Exit(3)
				}
				h := tlog.SM3.HashLeaf(e)
				mu.Lock()
				fmt.Printf("ACK %d %s\n", idx, h)
				mu.Unlock()
			}
		}()
	}
	select {}
}

func crashCycleCount(t *testing.T) int {
	if *crashCycles > 0 {
		return *crashCycles
	}
	if s := os.Getenv("LEDGER_CRASH_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("LEDGER_CRASH_CYCLES=%q", s)
		}
		return n
	}
	if testing.Short() {
		return 2
	}
	return 3
}

func TestCrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	cycles := crashCycleCount(t)
	path := filepath.Join(t.TempDir(), "crash.db")
	acked := map[uint64]tlog.Hash{} // every index ever acknowledged
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for c := range cycles {
		got, ready, stderr := runCrashChild(t, path, time.Duration(20+rng.IntN(400))*time.Millisecond)
		for idx, h := range got {
			if old, ok := acked[idx]; ok && old != h {
				t.Fatalf("cycle %d: index %d acknowledged twice, with %s and %s", c, idx, old, h)
			}
			acked[idx] = h
		}
		l, err := openAt(path, nil, ledger.Options{Origin: testOrigin, Signer: testKey(t)})
		if err != nil {
			t.Fatalf("cycle %d: reopen after SIGKILL: %v\nchild stderr:\n%s", c, err, stderr)
		}
		size := l.Size()
		for idx, h := range acked {
			if idx >= size {
				t.Fatalf("cycle %d: index %d was acknowledged but the log has %d entries", c, idx, size)
			}
			stored, err := l.LeafHash(idx)
			if err != nil || stored != h {
				t.Fatalf("cycle %d: index %d: stored %s, %v; acknowledged %s", c, idx, stored, err, h)
			}
			raw, err := l.Entry(idx)
			if err != nil || tlog.SM3.HashLeaf(raw) != h {
				t.Fatalf("cycle %d: entry %d does not hash to its acknowledged hash: %v", c, idx, err)
			}
		}
		rep, err := l.Fsck(context.Background(), ledger.FsckOptions{})
		if err != nil {
			t.Fatalf("cycle %d: fsck: %v", c, err)
		}
		if cp := l.Checkpoint(); cp.Size != size || rep.Latest == nil || rep.Latest.Size != size {
			t.Fatalf("cycle %d: checkpoint %d after reopen, size %d", c, cp.Size, size)
		}
		for k := range 3 {
			e := crashEntry(-1, k)
			idx, err := l.Append(context.Background(), e)
			if err != nil || idx != size+uint64(k) {
				t.Fatalf("cycle %d: append after restart = %d, %v; want %d", c, idx, err, size+uint64(k))
			}
			acked[idx] = tlog.SM3.HashLeaf(e)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("cycle %d: child started at %d, %d appends acknowledged, %d durable after SIGKILL (%d unacknowledged survived), fsck %v",
			c, ready, len(got), size-ready, int64(size-ready)-int64(len(got)), rep.Elapsed.Round(time.Millisecond))
	}
}

// runCrashChild starts the child on path, kills it with SIGKILL after
// the given time and returns what it acknowledged.
func runCrashChild(t *testing.T, path string, after time.Duration) (acks map[uint64]tlog.Hash, ready uint64, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks = map[uint64]tlog.Hash{}
	readyc := make(chan uint64, 1)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 2 && f[0] == "READY":
				n, _ := strconv.ParseUint(f[1], 10, 64)
				readyc <- n
			case len(f) == 3 && f[0] == "ACK":
				idx, err1 := strconv.ParseUint(f[1], 10, 64)
				h, err2 := tlog.ParseHash(f[2])
				if err1 != nil || err2 != nil {
					done <- fmt.Errorf("bad line %q", sc.Text())
					return
				}
				acks[idx] = h
			case len(f) > 0 && f[0] == "ERR":
				done <- fmt.Errorf("child: %s", sc.Text())
				return
			}
		}
		done <- sc.Err()
	}()
	select {
	case ready = <-readyc:
	case err := <-done:
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child failed before READY: %v\n%s", err, errBuf.String())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child not ready after 60 s\n%s", errBuf.String())
	}
	time.Sleep(after)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Read to EOF: every line the child wrote before dying is an
	// acknowledgement it made before the kill.
	if err := <-done; err != nil {
		t.Fatalf("reading the child: %v\n%s", err, errBuf.String())
	}
	cmd.Wait()
	return acks, ready, errBuf.String()
}

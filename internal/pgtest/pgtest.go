package pgtest

import (
	"bytes"
	"elicense/internal/testneed"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Options tune a cluster. The zero value is a durable primary that
// streaming standbys may clone.
type Options struct {
	// Settings are server settings given on the postgres command line
	// (-c name=value): they apply to this cluster only (a standby cloned
	// from it does not inherit them) and Set cannot change them.
	Settings map[string]string
}

// Cluster is one PostgreSQL server of the test's own.
type Cluster struct {
	// Port is the loopback port the server listens on, kept across
	// restarts.
	Port int

	t        testing.TB
	bin      string // the directory of the server's binaries
	dir      string // the data directory, the socket and the log
	settings map[string]string
	cred     *syscall.Credential // the postgres user's, when run as root
	cmd      *exec.Cmd           // the postmaster, while it runs
	exited   chan struct{}
}

// conf is what every cluster's postgresql.conf says: durable commits and
// what streaming replication needs.
const conf = `
fsync = on
synchronous_commit = on
wal_level = replica
max_wal_senders = 4
hot_standby = on
max_connections = 60
shared_buffers = 16MB
log_min_messages = warning
`

// New initialises a cluster (initdb) and starts it. It skips the test,
// loudly, when ELICENSE_TEST_PG=skip or when no PostgreSQL binaries are
// installed.
func New(t testing.TB, o Options) *Cluster {
	t.Helper()
	c := newCluster(t, o)
	c.run(t, "initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Standby clones c with pg_basebackup -R (a standby streaming from c,
// its WAL included) and starts it with o's settings.
func (c *Cluster) Standby(t testing.TB, o Options) *Cluster {
	t.Helper()
	s := newCluster(t, o)
	c.run(t, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres",
		"-D", s.data(), "-R", "-X", "stream", "-c", "fast", "--no-sync")
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// SynchronousStandby is Standby, made c's synchronous standby
// (synchronous_standby_names = '*'): it returns once c's commits wait
// for it.
func (c *Cluster) SynchronousStandby(t testing.TB, o Options) *Cluster {
	t.Helper()
	s := c.Standby(t, o)
	if err := c.Set("synchronous_standby_names", "*"); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSynchronous(30 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, s.Log())
	}
	return s
}

func newCluster(t testing.TB, o Options) *Cluster {
	t.Helper()
	if os.Getenv("ELICENSE_TEST_PG") == "skip" {
		testneed.Missing(t, testneed.Postgres, "ELICENSE_TEST_PG=skip: the tests that run PostgreSQL servers of their own do not run")
		return nil
	}
	bin := binDir()
	if bin == "" {
		testneed.Missing(t, testneed.Postgres, "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql package; the tests that run PostgreSQL servers of their own need them")
		return nil
	}
	c := &Cluster{t: t, bin: bin, settings: o.Settings, Port: freePort(t)}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("pgtest: running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if c.cmd != nil {
			c.Kill()
		}
		os.RemoveAll(dir)
	})
	return c
}

// binDir finds the server's binaries, all from one installation: the
// directory initdb on PATH links to, or Debian's
// /usr/lib/postgresql/VERSION/bin (the newest).
func binDir() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil {
			if _, err := os.Stat(filepath.Join(filepath.Dir(p), "pg_basebackup")); err == nil {
				return filepath.Dir(p)
			}
		}
	}
	ds, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(ds, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(a))))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(b))))
		return va - vb
	})
	if len(ds) == 0 {
		return ""
	}
	return filepath.Dir(ds[len(ds)-1])
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// command is one of the server's binaries, run as the postgres user
// when this process is root.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true}
	return cmd
}

func (c *Cluster) run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("pgtest: %s: %v\n%s", name, err, out)
	}
}

// DSN is a URL for database db on the cluster, as the postgres user.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Start starts the server (a postmaster that is this process's child)
// and waits until it accepts connections.
func (c *Cluster) Start() error {
	if c.cmd != nil {
		return errors.New("pgtest: the server is running")
	}
	args := []string{"-D", c.data(), "-p", strconv.Itoa(c.Port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + c.dir}
	for k, v := range c.settings {
		args = append(args, "-c", k+"="+v)
	}
	log, err := os.OpenFile(filepath.Join(c.dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := c.command("postgres", args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: starting postgres: %w", err)
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(c.exited)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := c.Query("SELECT 1"); err == nil {
			return nil
		}
		select {
		case <-c.exited:
			c.cmd = nil
			return fmt.Errorf("pgtest: postgres exited at start:\n%s", c.Log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres not ready within 60 s:\n%s", c.Log())
		}
	}
}

// Stop shuts the server down in mode "smart", "fast" or "immediate" (as
// pg_ctl stop -m: SIGTERM, SIGINT, SIGQUIT to the postmaster) and waits
// for it to exit.
func (c *Cluster) Stop(mode string) error {
	sig, ok := map[string]syscall.Signal{"smart": syscall.SIGTERM, "fast": syscall.SIGINT, "immediate": syscall.SIGQUIT}[mode]
	if !ok {
		return fmt.Errorf("pgtest: no shutdown mode %q", mode)
	}
	if c.cmd == nil {
		return errors.New("pgtest: the server is not running")
	}
	c.cmd.Process.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(60 * time.Second):
		return fmt.Errorf("pgtest: postgres did not stop (%s) within 60 s", mode)
	}
	c.cmd = nil
	return nil
}

// Kill sends SIGKILL to the postmaster alone, as a crash or the OOM
// killer would. Its backends notice their parent's death and exit on
// their own; Kill waits for them (a new postmaster refuses to start
// while they hold the shared memory), and kills those left after 10 s.
func (c *Cluster) Kill() error {
	if c.cmd == nil {
		return errors.New("pgtest: the server is not running")
	}
	pid := c.cmd.Process.Pid
	kids := children(pid)
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		kids = slices.DeleteFunc(kids, func(p int) bool { return !alive(p) })
		if len(kids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for _, p := range kids {
				syscall.Kill(p, syscall.SIGKILL)
			}
			return fmt.Errorf("pgtest: %d backends outlived the postmaster by 10 s; killed", len(kids))
		}
	}
}

// children lists the processes whose parent is pid (/proc).
func children(pid int) []int {
	var kids []int
	ds, _ := os.ReadDir("/proc")
	for _, d := range ds {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if ppid, _ := procStat(p); ppid == pid {
			kids = append(kids, p)
		}
	}
	return kids
}

// alive reports whether process p exists and is not a zombie.
func alive(p int) bool {
	_, st := procStat(p)
	return st != "" && st != "Z" && st != "X"
}

// procStat reads a process's parent and state from /proc/PID/stat.
func procStat(p int) (ppid int, state string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
	if err != nil {
		return 0, ""
	}
	// pid (comm) state ppid …; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, ""
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0]
}

// Promote ends a standby's recovery (pg_ctl promote) and waits until it
// accepts writes.
func (c *Cluster) Promote() error {
	out, err := c.command("pg_ctl", "promote", "-w", "-t", "60", "-D", c.data()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl promote: %v\n%s", err, out)
	}
	return nil
}

// Query runs one SQL statement with psql in database postgres and
// returns its output, unaligned, without headers.
func (c *Cluster) Query(sql string) (string, error) {
	out, err := c.command("psql", "-X", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres", "-d", "postgres", "-tAc", sql).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pgtest: psql %q: %v: %s", sql, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// Set changes a server setting at run time (ALTER SYSTEM, then a
// reload): synchronous_standby_names once a standby streams, since a
// primary that waits for a standby it does not have never commits.
// Standbys cloned later inherit it (postgresql.auto.conf).
func (c *Cluster) Set(name, value string) error {
	if _, err := c.Query(fmt.Sprintf("ALTER SYSTEM SET %s = '%s'", name, strings.ReplaceAll(value, "'", "''"))); err != nil {
		return err
	}
	_, err := c.Query("SELECT pg_reload_conf()")
	return err
}

// WaitSynchronous waits, up to d, until a standby streams to c
// synchronously (pg_stat_replication's sync_state is "sync"): a reload
// that sets synchronous_standby_names takes effect in the walsender a
// moment after pg_reload_conf returns.
func (c *Cluster) WaitSynchronous(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		st, err := c.Query("SELECT sync_state FROM pg_stat_replication")
		if err == nil && st == "sync" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: no synchronous standby after %v (sync_state %q, %v)", d, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log is the server's log so far (for failure messages).
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
	return string(b)
}

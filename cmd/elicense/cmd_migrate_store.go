package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"sort"
	"strings"
	"time"

	"elicense/certs/ident"
	"elicense/internal/ledger"
	"elicense/issuer/state"
	"elicense/issuer/state/boltstate"
	"elicense/issuer/state/pgstate"
)

func init() {
	register(&command{
		name:    "migrate",
		summary: "move a stopped deployment's ledger and state from its data directory (bbolt) to PostgreSQL",
		usage: `
Usage: elicense migrate --from DIR --to DSN [--batch N]

Copies the ledger and the state of the data directory DIR (DIR/ledger.db,
which the server must not be using: stop it first) into the PostgreSQL schema
DSN names (postgres://…[?schema=NAME], as serve's --store): the ledger's
entries, stored hashes, every signed checkpoint, origin and entry format, and
every piece of the state (licences and device copies with their credentials,
import keys, claim tickets under their numbers, so outstanding claim codes
keep working, seals, agency seals, revoked tokens, audit records, the
watermark and the status snapshot). New licence serials are set to start
where no migrated licence's serial counter was. DIR is opened read-only and
never changed; the keys stay in DIR.

The target must be empty or hold an earlier, interrupted copy of the same
ledger: running the command again resumes the copy, and after a finished one
it only checks again. A target holding another log (another origin, or other
entries) is refused and left as it is.

Before it reports success it proves the copy: the ledger's size and root
(recomputed from each side's stored hashes) equal, every checkpoint present,
the checks of 'elicense ledger verify' passing on the target, and a census of
the state (licences and device copies by status, claim tickets, seals,
tokens, audit records, and a digest of their contents) equal on both sides.
Exit status: 0 when the copy is proven, 1 when it fails or does not prove
(the target is left for inspection; do not serve it), 2 on usage errors.

Afterwards: start 'elicense serve --data DIR --store DSN' (any number of
them), and move DIR/ledger.db out of the way, keeping it as the last bbolt
backup, so that no server is ever started on it again without --store.
Never start a server on the target before migrate has reported success.

Examples:
  elicense migrate --from /srv/elicense --to 'postgres://elicense@db.internal/elicense?schema=shanghai'
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("from", "", "the stopped server's data `directory` (read only)")
			fs.String("to", "", "the PostgreSQL `DSN` to copy into (postgres://…[?schema=NAME])")
			fs.Int("batch", 4096, "entries or state rows per `transaction`")
		},
		run: runMigrateStore,
	})
}

// migratePause, if set in the environment to a duration, makes migrate
// sleep after every transaction: a test interrupts it mid-copy.
const migratePause = "ELICENSE_TEST_MIGRATE_PAUSE"

// migration is one run of elicense migrate.
type migration struct {
	e     *env
	ctx   context.Context
	from  dataDir
	src   *boltstate.Store
	dst   *pgstate.Store
	batch int
	pause time.Duration
	last  time.Time // the last progress line
}

func runMigrateStore(e *env, fs *flag.FlagSet) int {
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	if fs.NArg() != 0 {
		return usageError(e, "migrate", "unexpected argument %q", fs.Arg(0))
	}
	from, to := get("from"), get("to")
	if from == "" || to == "" {
		return usageError(e, "migrate", "want --from DIR and --to DSN")
	}
	if k, err := storeKind(to); err != nil || k != "postgres" {
		return usageError(e, "migrate", "--to %q is not a PostgreSQL DSN (postgres://…)", redactDSN(to))
	}
	m := &migration{e: e, from: dataDir(from)}
	fmt.Sscan(get("batch"), &m.batch)
	if m.batch <= 0 {
		return usageError(e, "migrate", "--batch must be positive")
	}
	if v, ok := e.lookupEnv(migratePause); ok {
		m.pause, _ = time.ParseDuration(v)
	}
	var stop context.CancelFunc
	m.ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := m.open(to); err != nil {
		fmt.Fprintf(e.stderr, "elicense migrate: %v\n", err)
		return exitFail
	}
	defer m.src.Close()
	defer m.dst.Close()
	if err := m.run(); err != nil {
		fmt.Fprintf(e.stderr, "elicense migrate: %v\n", err)
		return exitFail
	}
	return exitOK
}

// open opens the source read-only (failing fast if a server holds it)
// and the target.
func (m *migration) open(to string) error {
	if _, err := os.Stat(m.from.ledger()); err != nil {
		return fmt.Errorf("the source: %w", err)
	}
	src, err := boltstate.Open(m.from.ledger(), boltstate.Options{ReadOnly: true})
	if errors.Is(err, ledger.ErrLocked) {
		return fmt.Errorf("%s is in use: stop the server first", m.from.ledger())
	}
	if err != nil {
		return fmt.Errorf("%s: %w", m.from.ledger(), err)
	}
	dsn, schema := splitSchema(to)
	dst, err := pgstate.Open(m.ctx, dsn, pgstate.Options{Schema: schema})
	if err != nil {
		src.Close()
		return err
	}
	m.src, m.dst = src, dst
	return nil
}

func (m *migration) run() error {
	t0 := time.Now()
	// The source's origin must be the deployment's (its PKI in DIR).
	_, origin, err := ledgerVerifier(m.from, m.src.Ledger())
	if err != nil {
		return err
	}
	dl := m.dst.Ledger()
	before, err := dl.State(m.ctx)
	if err != nil {
		return fmt.Errorf("the target: %w", err)
	}
	if before.Size == 0 {
		if err := m.checkEmpty(); err != nil {
			return err
		}
	}
	rep, err := ledger.Copy(m.ctx, dl, m.src.Ledger(), ledger.CopyOptions{Batch: m.batch,
		Progress:   func(done, total uint64) { m.progress("ledger", done, total) },
		AfterWrite: m.afterWrite})
	if err != nil {
		return err
	}
	m.progress("ledger", rep.Size, rep.Size)
	fmt.Fprintf(m.e.stderr, "ledger: %d entries copied (from %d), %d checkpoints, in %v\n", rep.Size-rep.From, rep.From, rep.Checkpoints, time.Since(t0).Round(time.Millisecond))
	done, err := m.stateDone(rep)
	if err != nil {
		return err
	}
	if done {
		fmt.Fprintln(m.e.stderr, "state: already copied; checking it again")
	} else if err := m.copyState(); err != nil {
		return err
	}
	return m.prove(origin, t0)
}

// checkEmpty refuses a target with no ledger but some state (another
// deployment's, or a test's).
func (m *migration) checkEmpty() error {
	c, err := state.TakeCensus(m.dst)
	if err != nil {
		return fmt.Errorf("the target: %w", err)
	}
	if n := censusTotal(c); n > 0 {
		return fmt.Errorf("the target %s holds no ledger but %d pieces of state: use an empty schema", m.dst.Schema(), n)
	}
	return nil
}

// stateDone reports whether an earlier run copied the state: the ledger
// was whole when this run began and the target's watermark, set last,
// is the source's.
func (m *migration) stateDone(rep *ledger.CopyReport) (bool, error) {
	sw, err := m.src.Watermark()
	if err != nil {
		return false, err
	}
	dw, err := m.dst.Watermark()
	if err != nil {
		return false, err
	}
	return rep.From == rep.Size && sw > 0 && dw == sw, nil
}

// copyState copies the state in batches, then the serial counter, the
// status snapshot and, last, the watermark, which marks the state copied.
func (m *migration) copyState() error {
	t0 := time.Now()
	var counters serialCounters
	n, total := 0, 0
	err := m.src.Export(m.batch, func(e *state.Export) error {
		if err := m.ctx.Err(); err != nil {
			return err
		}
		for _, r := range e.Records {
			counters.add(r.ID)
		}
		if err := m.dst.Import(e); err != nil {
			return err
		}
		n += e.Len()
		total += len(e.Records)
		m.progress("state", uint64(n), 0)
		return m.afterWrite()
	})
	if err != nil {
		return fmt.Errorf("copying the state: %w", err)
	}
	next := counters.start()
	if err := m.dst.AdvanceSerials(next); err != nil {
		return err
	}
	size, snap, err := m.src.StatusSnapshot()
	if err != nil {
		return err
	}
	if snap != nil {
		if err := m.dst.PutStatusSnapshot(size, snap); err != nil {
			return err
		}
	}
	w, err := m.src.Watermark()
	if err != nil {
		return err
	}
	if err := m.dst.SetWatermark(w); err != nil {
		return err
	}
	fmt.Fprintf(m.e.stderr, "state: %d pieces copied (%d licences and copies) in %v; new serials count from %d\n", n, total, time.Since(t0).Round(time.Millisecond), next)
	return nil
}

// prove checks the copy before success is reported.
func (m *migration) prove(origin string, t0 time.Time) error {
	root, err := ledger.VerifyCopy(m.ctx, m.dst.Ledger(), m.src.Ledger())
	if err != nil {
		return fmt.Errorf("the copy does not prove: %w", err)
	}
	st, _ := m.dst.Ledger().State(m.ctx)
	fmt.Fprintf(m.e.stdout, "ledger: %d entries on both sides, root %s (from stored hashes on both), every checkpoint present\n", st.Size, root)
	dv, _, err := ledgerVerifier(m.from, m.dst.Ledger())
	if err != nil {
		return err
	}
	fmt.Fprint(m.e.stdout, "target ledger verify: ")
	if _, err := verifyLedger(m.ctx, m.e, m.dst.Ledger(), dv, origin); err != nil {
		return fmt.Errorf("the target's ledger does not verify: %w", err)
	}
	a, err := state.TakeCensus(m.src)
	if err != nil {
		return fmt.Errorf("census of the source: %w", err)
	}
	b, err := state.TakeCensus(m.dst)
	if err != nil {
		return fmt.Errorf("census of the target: %w", err)
	}
	printStateCensus(m.e.stdout, a, b)
	if !reflect.DeepEqual(a, b) {
		return errors.New("the census of the state differs between the source and the target")
	}
	sw, err1 := m.src.Watermark()
	dw, err2 := m.dst.Watermark()
	if err := errors.Join(err1, err2); err != nil || sw != dw {
		return fmt.Errorf("the watermark is %d in the source and %d in the target (%v)", sw, dw, err)
	}
	fmt.Fprintf(m.e.stdout, "migrated %s to %s in %v: serve it with 'elicense serve --data %s --store DSN', and move %s out of the way\n",
		m.from.ledger(), m.dst.Schema(), time.Since(t0).Round(time.Millisecond), m.from, m.from.ledger())
	return nil
}

// printStateCensus prints both sides' census, one line per kind.
func printStateCensus(w io.Writer, a, b *state.Census) {
	line := func(what string, x, y int) {
		mark := ""
		if x != y {
			mark = "  DIFFERS"
		}
		fmt.Fprintf(w, "  %-26s %10d %10d%s\n", what, x, y, mark)
	}
	fmt.Fprintf(w, "state census:                %10s %10s\n", "source", "target")
	statuses := map[state.Status]bool{}
	for _, c := range []*state.Census{a, b} {
		for s := range c.Licences {
			statuses[s] = true
		}
		for s := range c.Copies {
			statuses[s] = true
		}
	}
	names := make([]string, 0, len(statuses))
	for s := range statuses {
		names = append(names, string(s))
	}
	sort.Strings(names)
	for _, s := range names {
		line("licences "+s, a.Licences[state.Status(s)], b.Licences[state.Status(s)])
		line("device copies "+s, a.Copies[state.Status(s)], b.Copies[state.Status(s)])
	}
	line("claim tickets", a.Claims, b.Claims)
	line("claim tickets used", a.ClaimsUsed, b.ClaimsUsed)
	line("seals", a.Seals, b.Seals)
	line("seals revoked", a.SealsRevoked, b.SealsRevoked)
	line("agency seals", a.AgencySeals, b.AgencySeals)
	line("revoked tokens", a.Tokens, b.Tokens)
	line("audit records", a.Audits, b.Audits)
	same := "equal"
	if a.Digest != b.Digest {
		same = "DIFFERS"
	}
	fmt.Fprintf(w, "  %-26s %x… %s\n", "content digest", a.Digest[:8], same)
}

func censusTotal(c *state.Census) int {
	n := c.Claims + c.Seals + c.AgencySeals + c.Tokens + c.Audits
	for _, v := range c.Licences {
		n += v
	}
	for _, v := range c.Copies {
		n += v
	}
	return n
}

// progress prints a progress line on stderr, at most twice a second
// (and the last one).
func (m *migration) progress(what string, done, total uint64) {
	if time.Since(m.last) < 500*time.Millisecond && done != total && m.pause == 0 {
		return
	}
	m.last = time.Now()
	if total > 0 {
		fmt.Fprintf(m.e.stderr, "%s: %d/%d\n", what, done, total)
	} else {
		fmt.Fprintf(m.e.stderr, "%s: %d pieces\n", what, done)
	}
}

func (m *migration) afterWrite() error {
	if m.pause > 0 {
		time.Sleep(m.pause)
	}
	return m.ctx.Err()
}

// serialCounters records which values of the serial counter migrated
// licences carry: a serial is the issue date, four base-36 characters of
// the time of day and four of a counter (issuer/service newSerial).
type serialCounters struct {
	used []uint64 // a bit per counter value
}

// serialRange is how many values the four counter characters hold.
const serialRange = 36 * 36 * 36 * 36

func (c *serialCounters) add(id string) {
	l, err := ident.ParseLicenseID(strings.SplitN(id, "#", 2)[0])
	if err != nil || len(l.Serial) != 16 {
		return // not a serial this issuer made (an imported identifier)
	}
	v := 0
	for _, ch := range l.Serial[12:] {
		d := strings.IndexRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", ch)
		if d < 0 {
			return
		}
		v = v*36 + d
	}
	if c.used == nil {
		c.used = make([]uint64, (serialRange+63)/64)
	}
	c.used[v/64] |= 1 << (v % 64)
}

// start is the counter value new serials should start from: the first
// of the longest run of values no migrated licence used, so that the
// serials issued next repeat no migrated counter value for as long as
// possible (the time of day in a serial separates the rest; the state
// refuses an identifier taken).
func (c *serialCounters) start() uint32 {
	if c.used == nil {
		return 0
	}
	isUsed := func(v int) bool { return c.used[v/64]&(1<<(v%64)) != 0 }
	first := -1
	for v := range serialRange {
		if isUsed(v) {
			first = v
			break
		}
	}
	if first < 0 {
		return 0
	}
	// Walk once round the circle from a used value.
	bestStart, bestLen, runStart, runLen := 0, 0, 0, 0
	for i := 1; i <= serialRange; i++ {
		v := (first + i) % serialRange
		if isUsed(v) {
			runLen = 0
			continue
		}
		if runLen == 0 {
			runStart = v
		}
		runLen++
		if runLen > bestLen {
			bestStart, bestLen = runStart, runLen
		}
	}
	return uint32(bestStart)
}

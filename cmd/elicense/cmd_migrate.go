package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/internal/ledger"
	"elicense/issuer/pki"
	"elicense/issuer/service"
	"elicense/issuer/state"
	"elicense/issuer/state/boltstate"
)

func init() {
	register(&command{
		name:    "migrate-ledger",
		summary: "move a deployment whose ledger holds format-1 entries to a new format-2 log",
		usage: `
Usage: elicense migrate-ledger --from OLD_DIR --to NEW_DIR [--passphrase-file FILE]

Reads the data directory OLD_DIR, whose ledger holds format-1 entries (they
published operator names, seal holders' codes and device keys; the server
refuses such a ledger), and writes NEW_DIR: the same PKI, a new operator-
token key (operators need new tokens: revoked tokens are not carried over,
so no old token is accepted), a new ledger audit key, and a new log with its
own origin (the old one's with "/2" appended, "/3" after a second migration)
in which every licence, device copy, status, re-issue, seal and agency key
state is recorded again as a format-2 event, with the state that indexes it.
The server is stopped; OLD_DIR is opened read-only and never changed.

Each migrated event carries the time the old state records (issued, last
changed, made, revoked) and commits to the operator "migrate-ledger" (the
old operator names are not carried into the new commitments). Credentials
and QR cores are not signed again: their signatures and status-list
positions stay valid. A device copy gets the identifier this version
derives from its licence and device key. Outstanding claim codes are not
carried over (give holders new ones).

NEW_DIR must not exist or be empty. The work is done in NEW_DIR.migrating and
renamed to NEW_DIR at the end, so a failed run leaves no NEW_DIR; running the
command again removes NEW_DIR.migrating and starts over. At the end it runs
the checks of 'elicense ledger verify' on the new ledger and compares the
licences, copies (by status) and seals of the old state and the new, printing
both; any difference is a failure (exit 1) and NEW_DIR.migrating is kept for
inspection.

The passphrase is found as 'elicense serve' finds it: --passphrase-file,
ELICENSE_PASSPHRASE_FILE, ELICENSE_PASSPHRASE, else OLD_DIR/passphrase
(copied to NEW_DIR).

Afterwards: archive OLD_DIR where it is not served, start 'elicense serve
--data NEW_DIR', and publish the new trust bundle. Counters holding the old
log's checkpoint refuse the new one (another origin) until their operator
re-pins: see docs/events.md, Format-1 ledgers.

Examples:
  elicense migrate-ledger --from /srv/elicense --to /srv/elicense-2
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("from", "", "the old data `directory` (read only)")
			fs.String("to", "", "the new data `directory` (must not exist or be empty)")
			fs.String("passphrase-file", "", "read the key passphrase from `file`")
		},
		run: runMigrate,
	})
}

// migratingMark is the file that names a directory as a migration's work
// in progress, which a later run may remove.
const migratingMark = "MIGRATING"

func runMigrate(e *env, fs *flag.FlagSet) int {
	from, to := fs.Lookup("from").Value.String(), fs.Lookup("to").Value.String()
	if from == "" || to == "" || fs.NArg() != 0 {
		return usageError(e, "migrate-ledger", "want --from OLD_DIR and --to NEW_DIR")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m := &migrateRun{e: e, old: dataDir(filepath.Clean(from)), dst: filepath.Clean(to)}
	m.work = dataDir(m.dst + ".migrating")
	if err := m.run(ctx, fs.Lookup("passphrase-file").Value.String()); err != nil {
		fmt.Fprintf(e.stderr, "elicense migrate-ledger: %v\n", err)
		return exitFail
	}
	return exitOK
}

// migrateRun is one migrate-ledger: from old into work, renamed to dst
// once it checks out.
type migrateRun struct {
	e    *env
	old  dataDir
	work dataDir
	dst  string
}

func (m *migrateRun) run(ctx context.Context, passFile string) error {
	if err := m.prepareDirs(); err != nil {
		return err
	}
	pw, err := passphrase(m.e, m.old, passFile)
	if err != nil {
		return err
	}
	p, err := pki.Load(m.old.pki(), pw)
	if err != nil {
		return fmt.Errorf("%s: %w", m.old.pki(), err)
	}
	oldB, err := boltstate.Open(m.old.ledger(), boltstate.Options{ReadOnly: true})
	if errors.Is(err, ledger.ErrLocked) {
		err = fmt.Errorf("%w (stop the server first)", err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", m.old.ledger(), err)
	}
	defer oldB.Close()
	st, err := oldB.Ledger().State(ctx)
	if err != nil {
		return err
	}
	origin, err := nextOrigin(ledgerOrigin(p.Manifest.Root.KeyID), st.Origin)
	if err != nil {
		return err
	}
	audit, err := m.writeKeys(pw)
	if err != nil {
		return err
	}
	old, err := m.migrate(ctx, oldB, p, audit, origin)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.e.stdout, "migrated %s (%d entries, format 1, origin %s) to a new log, origin %s\n", m.old.ledger(), st.Size, st.Origin, origin)
	if err := m.check(ctx, old, origin); err != nil {
		return err
	}
	// Rename first, then drop the mark: a crash between the two leaves a
	// complete NEW with a stray mark (serve ignores it), never a work
	// directory a re-run would refuse.
	if err := os.Remove(m.dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(string(m.work), m.dst); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(m.dst)); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(m.dst, migratingMark)); err != nil {
		return err
	}
	fmt.Fprintf(m.e.stdout, `done: %s
next: archive %s where it is not served; elicense serve --data %s (a new admin token is made on
its first start; operators need new tokens); publish the new trust bundle; counters re-pin to origin
%s (docs/events.md, Format-1 ledgers)
`, m.dst, m.old, m.dst, origin)
	return nil
}

// prepareDirs checks the old directory and the target, and makes the
// work directory (removing a failed run's).
func (m *migrateRun) prepareDirs() error {
	if _, err := os.Stat(m.old.ledger()); err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if ents, err := os.ReadDir(m.dst); err == nil && len(ents) > 0 {
		return fmt.Errorf("--to: %s is not empty", m.dst)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--to: %w", err)
	}
	if _, err := os.Stat(string(m.work)); err == nil {
		if _, err := os.Stat(m.work.path(migratingMark)); err != nil {
			return fmt.Errorf("%s exists and is not a migration's work directory (no %s): remove it", m.work, migratingMark)
		}
		fmt.Fprintf(m.e.stderr, "elicense migrate-ledger: removing %s, left by a run that did not finish\n", m.work)
		if err := os.RemoveAll(string(m.work)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(string(m.work), 0o700); err != nil {
		return err
	}
	return os.WriteFile(m.work.path(migratingMark), []byte("elicense migrate-ledger work directory; safe to remove\n"), 0o600)
}

// writeKeys copies the PKI (and the passphrase file, if the old
// directory has one) and makes the new token and audit keys.
func (m *migrateRun) writeKeys(pw []byte) (*ledgerevent.AuditKey, error) {
	if err := copyTree(m.old.pki(), m.work.pki()); err != nil {
		return nil, fmt.Errorf("copying the PKI: %w", err)
	}
	if _, err := os.Stat(m.old.passphrase()); err == nil {
		if err := copyFile(m.old.passphrase(), m.work.passphrase()); err != nil {
			return nil, err
		}
	}
	if _, err := tokenKey(m.work, pw); err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	return auditKey(m.e, m.work, pw, true)
}

// migrate writes the new ledger and state from the old.
func (m *migrateRun) migrate(ctx context.Context, oldB *boltstate.Store, p *pki.PKI, audit *ledgerevent.AuditKey, origin string) (service.Census, error) {
	b, err := boltstate.Open(m.work.ledger(), boltstate.Options{})
	if err != nil {
		return service.Census{}, err
	}
	data, err := service.OpenData(b, ledger.Options{Origin: origin, Signer: p.Ledger.Signer})
	if err != nil {
		b.Close()
		return service.Census{}, err
	}
	last := time.Now()
	old, err := service.Migrate(ctx, service.MigrateOptions{From: oldB, FromLedger: oldB.Ledger(), To: data.Store, Ledger: data.Ledger, Audit: audit, PKI: p,
		Progress: func(done, total int) {
			if time.Since(last) > 2*time.Second || done == total {
				last = time.Now()
				fmt.Fprintf(m.e.stderr, "elicense migrate-ledger: %d of %d licences\n", done, total)
			}
		}})
	return old, errors.Join(err, data.Close())
}

// check runs ledger verify on the new ledger and compares the old
// state's census with the new one's.
func (m *migrateRun) check(ctx context.Context, old service.Census, origin string) error {
	r, closeR, err := openLedgerReader(m.work, "")
	if err != nil {
		return err
	}
	defer closeR()
	v, vorigin, err := ledgerVerifier(m.work, r)
	if err == nil && vorigin != origin {
		err = fmt.Errorf("the new ledger records origin %q, want %q", vorigin, origin)
	}
	if err != nil {
		return err
	}
	kinds, err := verifyLedger(ctx, m.e, r, v, origin)
	if err != nil {
		return fmt.Errorf("the new ledger does not verify (kept in %s): %w", m.work, err)
	}
	b, err := boltstate.Open(m.work.ledger(), boltstate.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	cur, err := service.CountState(b)
	b.Close()
	if err != nil {
		return err
	}
	cur.Seals = int(kinds[ledgerevent.KindSealMade])
	printCensus(m.e.stdout, old, cur)
	if !old.Equal(cur) {
		return fmt.Errorf("the new state does not count what the old one does (kept in %s for inspection)", m.work)
	}
	return nil
}

func printCensus(w io.Writer, old, cur service.Census) {
	fmt.Fprintf(w, "%-22s %10s %10s\n", "", "old", "new")
	row := func(name string, a, b int) {
		mark := ""
		if a != b {
			mark = "  DIFFERS"
		}
		fmt.Fprintf(w, "%-22s %10d %10d%s\n", name, a, b, mark)
	}
	row("licences", old.Licences, cur.Licences)
	row("device copies", old.Copies, cur.Copies)
	var sts []state.Status
	for s := range old.Status {
		sts = append(sts, s)
	}
	for s := range cur.Status {
		if _, ok := old.Status[s]; !ok {
			sts = append(sts, s)
		}
	}
	slices.Sort(sts)
	for _, s := range sts {
		row("  "+string(s), old.Status[s], cur.Status[s])
	}
	row("seals made", old.Seals, cur.Seals)
	row("seals revoked", old.RevokedSeals, cur.RevokedSeals)
}

// copyTree copies the regular files and directories under src to dst,
// keeping their permission bits.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o700)
		case d.Type().IsRegular():
			return copyFile(path, target)
		}
		return fmt.Errorf("%s: not a regular file", path)
	})
}

// copyFile copies src to dst with src's permission bits, synced.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}

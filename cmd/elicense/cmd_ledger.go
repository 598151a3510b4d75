package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/ledger/boltstore"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/pki"

	"github.com/schollz/progressbar/v3"
)

func init() {
	register(&command{
		name:    "ledger",
		summary: "verify the ledger (fsck), print its latest checkpoint, or open an entry's commitment for an auditor",
		usage: `
Usage: elicense ledger verify [--data DIR] [--store DSN]
       elicense ledger checkpoint [--data DIR] [--store DSN]
       elicense ledger open --index I --field FIELD [--value V] [--server URL] [--token-file F]

verify recomputes every entry and node hash of the ledger and its latest
root, checks every signed checkpoint (signature by the ledger key in
DIR/pki/ledger.crt.pem, and consistency with the one before), decodes every
entry with the event catalogue (docs/events.md), and reports the first bad
index. It shows progress and needs no passphrase. With the data directory's
file the server must be stopped (bbolt allows one writer or shared readers),
or verify a backup; a PostgreSQL ledger (--store, as serve's) is verified
while the servers run, up to its size when verify starts.

checkpoint prints the latest signed checkpoint (a C2SP signed note).

open asks the running server (admin token: --token-file, else ELICENSE_TOKEN)
to open one committed field of entry I for an auditor: FIELD is operator,
holder_code, holder_name or device. It prints the value and the salt, after
checking them against the public entry (SM3(salt ‖ value) is the entry's
commitment). The auditor checks the same with the entry alone. --value checks
a given value instead of the one the server recorded (hex for a device key).

Exit status: 0 if the ledger verifies, 1 if it does not, 2 on usage errors.

Examples:
  elicense ledger verify --data ./elicense-data
  elicense ledger checkpoint --data ./elicense-data
  elicense ledger open --token-file admin.token --index 42 --field operator
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("data", defaultData, "the server's data `directory`")
			fs.String("store", "", storeHelp)
			fs.Uint64("index", 0, "open: the entry's `index`")
			fs.String("field", "", "open: the committed `field` (operator, holder_code, holder_name, device)")
			fs.String("value", "", "open: check this `value` instead of the recorded one")
			fs.String("server", "http://"+defaultAddr, "open: server base `URL`")
			fs.String("token-file", "", "open: read the admin token from `file`")
		},
		run: runLedger,
	})
}

// ledgerOrigin is the checkpoint origin line of a deployment's ledger.
func ledgerOrigin(rootKeyID string) string { return "elicense.local/ledger/" + rootKeyID }

// verifyLedger is ledger verify: fsck of d's ledger, every entry
// decoded with the event catalogue. It prints the outcome (OK or FAIL)
// and returns how many events of each kind the ledger holds.
func verifyLedger(ctx context.Context, e *env, r ledger.Reader, v *tlog.NoteVerifier, origin string) ([256]uint64, error) {
	var bar *progressbar.ProgressBar
	var kinds [256]uint64
	rep, err := ledger.Fsck(ctx, r, ledger.FsckOptions{Verifier: v,
		Check: func(_ uint64, entry []byte) error {
			ev, err := ledgerevent.Decode(entry)
			if err == nil {
				kinds[ev.Kind()]++
			}
			return err
		},
		Progress: func(done, total uint64) {
			if bar == nil {
				bar = progressbar.NewOptions64(int64(total), progressbar.OptionSetWriter(e.stderr),
					progressbar.OptionSetDescription("verifying"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("entries"), progressbar.OptionThrottle(100_000_000))
			}
			bar.Set64(int64(done))
		}})
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		var ie *ledger.IndexError
		if errors.As(err, &ie) {
			fmt.Fprintf(e.stdout, "FAIL at index %d: %v\n", ie.Index, err)
		} else {
			fmt.Fprintf(e.stdout, "FAIL: %v\n", err)
		}
		return kinds, err
	}
	fmt.Fprintf(e.stdout, "OK %s: %d entries, root %s, %d checkpoints checked (signatures: %v), %v\n",
		origin, rep.Entries, rep.Root, rep.Checkpoints, rep.SignaturesChecked, rep.Elapsed.Round(1e6))
	return kinds, nil
}

// epochOrigin checks the origin a ledger file records against the
// deployment's (base, from its root key): the same, or base "/N" for
// the N-th log of the deployment (elicense migrate-ledger starts one),
// which it returns. An empty recorded origin (a new file) is base.
func epochOrigin(base, recorded string) (string, error) {
	if recorded == "" || recorded == base {
		return base, nil
	}
	if n, ok := strings.CutPrefix(recorded, base+"/"); ok {
		if v, err := strconv.Atoi(n); err == nil && v >= 2 && strconv.Itoa(v) == n {
			return recorded, nil
		}
	}
	return "", fmt.Errorf("the ledger's origin is %q, which is not this deployment's (%q, or %q/N after a migration)", recorded, base, base)
}

// nextOrigin is the origin of the log that follows one of origin cur:
// base "/2", then "/3" and so on.
func nextOrigin(base, cur string) (string, error) {
	cur, err := epochOrigin(base, cur)
	if err != nil {
		return "", err
	}
	n := 1
	if cur != base {
		n, _ = strconv.Atoi(strings.TrimPrefix(cur, base+"/"))
	}
	return base + "/" + strconv.Itoa(n+1), nil
}

// recordedOrigin is the origin a ledger records (epochOrigin).
func recordedOrigin(r ledger.Reader, base string) (string, error) {
	st, err := r.State(context.Background())
	if err == nil {
		st.Origin, err = epochOrigin(base, st.Origin)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", errLedgerFile, err)
	}
	return st.Origin, nil
}

// openLedgerReader opens the ledger store names (storeKind) for reading:
// the data directory's file under a reader's lock, or the database.
func openLedgerReader(d dataDir, store string) (ledger.Reader, func() error, error) {
	kind, err := storeKind(store)
	if err != nil {
		return nil, nil, err
	}
	if kind == "bbolt" {
		if _, err := os.Stat(d.ledger()); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errLedgerFile, err)
		}
		s, err := boltstore.Open(d.ledger(), &boltstore.Options{ReadOnly: true})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errLedgerFile, err)
		}
		return s, s.Close, nil
	}
	b, err := openBackend(d, store, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", errLedgerFile, storeName(d, store), err)
	}
	return b.Ledger(), b.Close, nil
}

// errLedgerFile marks a ledger file that cannot be read for its origin.
var errLedgerFile = errors.New("reading the ledger file")

// ledgerVerifier builds the checkpoint verifier from the PKI's public
// files and the origin the ledger records; no private key is read.
func ledgerVerifier(d dataDir, r ledger.Reader) (*tlog.NoteVerifier, string, error) {
	read := func(name string) (*gm.Certificate, []byte, error) {
		data, err := os.ReadFile(filepath.Join(d.pki(), name))
		if err != nil {
			return nil, nil, err
		}
		cs, err := gm.ParseCertificatesPEM(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		return cs[0], cs[0].Raw, nil
	}
	_, rootDER, err := read(pki.RootCertFile)
	if err != nil {
		return nil, "", err
	}
	lc, _, err := read(pki.LedgerCertFile)
	if err != nil {
		return nil, "", err
	}
	origin, err := recordedOrigin(r, ledgerOrigin(gm.KeyIDString(rootDER)))
	if err != nil {
		return nil, "", err
	}
	pub, ok := lc.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, "", fmt.Errorf("%s: not an SM2 key", pki.LedgerCertFile)
	}
	v, err := tlog.NewNoteVerifier(origin, pub)
	return v, origin, err
}

func runLedger(e *env, fs *flag.FlagSet) int {
	if fs.NArg() < 1 {
		return usageError(e, "ledger", "want one of: verify, checkpoint, open")
	}
	sub := fs.Arg(0)
	// Flags may follow the subcommand: elicense ledger verify --data D.
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return usageError(e, "ledger", "%v", err)
	}
	if fs.NArg() != 0 {
		return usageError(e, "ledger", "unexpected argument %q", fs.Arg(0))
	}
	if sub == "open" {
		return ledgerOpen(e, fs)
	}
	d := dataDir(fs.Lookup("data").Value.String())
	r, closeR, err := openLedgerReader(d, fs.Lookup("store").Value.String())
	if err == nil {
		defer closeR()
	}
	var v *tlog.NoteVerifier
	var origin string
	if err == nil {
		v, origin, err = ledgerVerifier(d, r)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense ledger: %v\n", err)
		if errors.Is(err, errLedgerFile) {
			return exitFail // the ledger, not the command line, is at fault
		}
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch sub {
	case "verify":
		kinds, err := verifyLedger(ctx, e, r, v, origin)
		if err != nil {
			return exitFail
		}
		for k, n := range kinds {
			if n > 0 {
				fmt.Fprintf(e.stdout, "  %-16s %d\n", ledgerevent.Kind(k), n)
			}
		}
		return exitOK
	case "checkpoint":
		note, err := latestCheckpoint(r)
		if err != nil {
			fmt.Fprintf(e.stderr, "elicense ledger: %v\n", err)
			return exitFail
		}
		if _, err := tlog.VerifyCheckpoint(note, origin, v); err != nil {
			fmt.Fprintf(e.stderr, "elicense ledger: stored checkpoint does not verify: %v\n", err)
			return exitFail
		}
		e.stdout.Write(note)
		return exitOK
	default:
		return usageError(e, "ledger", "unknown subcommand %q (want verify, checkpoint or open)", sub)
	}
}

// latestCheckpoint returns the last signed checkpoint in the store.
func latestCheckpoint(s ledger.Reader) ([]byte, error) {
	st, err := s.State(context.Background())
	if err == nil && st.Checkpoint == nil {
		err = errors.New("the ledger has no signed checkpoint yet")
	}
	return st.Checkpoint, err
}

// ledgerOpen asks the server to open one commitment of an entry, then
// checks the opening against the public entry itself.
func ledgerOpen(e *env, fs *flag.FlagSet) int {
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	if get("field") == "" {
		return usageError(e, "ledger", "open needs --index and --field")
	}
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "elicense ledger open: %v\n", err)
		return exitFail
	}
	token, err := operatorToken(e, get("token-file"))
	if err != nil {
		return fail(err)
	}
	c := newAPIClient(get("server"), token)
	ctx := context.Background()
	index := get("index")
	body := map[string]string{"field": get("field")}
	if v := get("value"); v != "" {
		body["value"] = v
	}
	var o struct {
		Kind  string `json:"kind"`
		Field string `json:"field"`
		Salt  string `json:"salt"`
		Value string `json:"value"`
	}
	if err := c.call(ctx, "POST", "/v1/ledger/entries/"+index+"/open", body, &o); err != nil {
		return fail(err)
	}
	var entry struct {
		Raw []byte `json:"raw"`
	}
	if err := c.call(ctx, "GET", "/v1/ledger/entries/"+index, nil, &entry); err != nil {
		return fail(err)
	}
	ev, err := ledgerevent.Decode(entry.Raw)
	if err != nil {
		return fail(fmt.Errorf("entry %s: %w", index, err))
	}
	salt, err := hex.DecodeString(o.Salt)
	if err != nil || len(salt) != ledgerevent.SaltSize {
		return fail(fmt.Errorf("the server's salt %q is not %d bytes of hex", o.Salt, ledgerevent.SaltSize))
	}
	value := []byte(o.Value)
	if o.Field == ledgerevent.FieldDevice {
		if value, err = hex.DecodeString(o.Value); err != nil {
			return fail(fmt.Errorf("the server's device key is not hex: %w", err))
		}
	}
	if err := ledgerevent.VerifyOpening(ev, ledgerevent.Opening{Field: o.Field, Salt: [ledgerevent.SaltSize]byte(salt), Value: value}); err != nil {
		return fail(err)
	}
	fmt.Fprintf(e.stdout, "entry %s (%s %s)\n%s: %s\nsalt: %s\ncommitment: SM3(salt ‖ value) matches the entry\n", index, ev.Kind(), ev.Head().Subject, o.Field, o.Value, o.Salt)
	return exitOK
}

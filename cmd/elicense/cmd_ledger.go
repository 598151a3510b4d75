package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/pki"

	"github.com/schollz/progressbar/v3"
)

func init() {
	register(&command{
		name:    "ledger",
		summary: "verify the ledger (fsck) or print its latest checkpoint",
		usage: `
Usage: elicense ledger verify [--data DIR]
       elicense ledger checkpoint [--data DIR]

verify recomputes every entry and node hash of the ledger and its latest
root, checks every signed checkpoint (signature by the ledger key in
DIR/pki/ledger.crt.pem, and consistency with the one before), and reports the
first bad index. It shows progress and needs no passphrase. The server must
be stopped (bbolt allows one writer or shared readers), or verify a backup.

checkpoint prints the latest signed checkpoint (a C2SP signed note).

Exit status: 0 if the ledger verifies, 1 if it does not, 2 on usage errors.

Examples:
  elicense ledger verify --data ./elicense-data
  elicense ledger checkpoint --data ./elicense-data
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("data", defaultData, "the server's data `directory`")
		},
		run: runLedger,
	})
}

// ledgerOrigin is the checkpoint origin line of a deployment's ledger.
func ledgerOrigin(rootKeyID string) string { return "elicense.local/ledger/" + rootKeyID }

// ledgerVerifier builds the checkpoint verifier from the PKI's public
// files; no private key is read.
func ledgerVerifier(d dataDir) (*tlog.NoteVerifier, string, error) {
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
	origin := ledgerOrigin(gm.KeyIDString(rootDER))
	pub, ok := lc.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, "", fmt.Errorf("%s: not an SM2 key", pki.LedgerCertFile)
	}
	v, err := tlog.NewNoteVerifier(origin, pub)
	return v, origin, err
}

func runLedger(e *env, fs *flag.FlagSet) int {
	if fs.NArg() < 1 {
		return usageError(e, "ledger", "want one of: verify, checkpoint")
	}
	sub := fs.Arg(0)
	// Flags may follow the subcommand: elicense ledger verify --data D.
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return usageError(e, "ledger", "%v", err)
	}
	if fs.NArg() != 0 {
		return usageError(e, "ledger", "unexpected argument %q", fs.Arg(0))
	}
	d := dataDir(fs.Lookup("data").Value.String())
	v, origin, err := ledgerVerifier(d)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense ledger: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch sub {
	case "verify":
		var bar *progressbar.ProgressBar
		rep, err := ledger.FsckFile(ctx, d.ledger(), v, func(done, total uint64) {
			if bar == nil {
				bar = progressbar.NewOptions64(int64(total), progressbar.OptionSetWriter(e.stderr),
					progressbar.OptionSetDescription("verifying"), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("entries"), progressbar.OptionThrottle(100_000_000))
			}
			bar.Set64(int64(done))
		})
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
			return exitFail
		}
		fmt.Fprintf(e.stdout, "OK %s: %d entries, root %s, %d checkpoints checked (signatures: %v), %v\n",
			origin, rep.Entries, rep.Root, rep.Checkpoints, rep.SignaturesChecked, rep.Elapsed.Round(1e6))
		return exitOK
	case "checkpoint":
		s, err := ledger.OpenBolt(d.ledger(), &ledger.BoltOptions{ReadOnly: true})
		if err != nil {
			fmt.Fprintf(e.stderr, "elicense ledger: %v\n", err)
			return exitFail
		}
		defer s.Close()
		note, err := latestCheckpoint(s)
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
		return usageError(e, "ledger", "unknown subcommand %q (want verify or checkpoint)", sub)
	}
}

// latestCheckpoint returns the last signed checkpoint in the store.
func latestCheckpoint(s ledger.Store) ([]byte, error) {
	st, err := s.State(context.Background())
	if err == nil && st.Checkpoint == nil {
		err = errors.New("the ledger has no signed checkpoint yet")
	}
	return st.Checkpoint, err
}

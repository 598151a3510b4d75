package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"elicense/verifier/store"
	"elicense/verifier/vlog"
)

// Exit codes.
const (
	exitOK      = 0
	exitVerdict = 1
	exitUsage   = 2
)

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
}

func main() {
	os.Exit(run(os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, now: time.Now}))
}

// A command is one subcommand.
type command struct {
	name    string
	summary string                        // one line, for the command list
	usage   string                        // full help: synopsis, description, examples (flags are appended)
	flags   func(*flag.FlagSet, *options) // declares the command's own flags; may be nil
	common  commonFlags                   // which shared flags it takes
	run     func(e env, o *options, args []string) int
}

// commonFlags selects the shared flags a command declares.
type commonFlags uint8

const (
	withCounter commonFlags = 1 << iota // --counter
	withLang                            // --lang
	withJSON                            // --json
	withSync                            // --from, --sync-every (long-running modes)
	withAt                              // --at (one-off checks)
)

// options holds every flag's value.
type options struct {
	store, counter, lang string
	json                 bool
	from                 string
	syncEvery            time.Duration
	at                   string
	fs                   *flag.FlagSet // for flagValue
}

// commands is the command table, in the order of the command list.
var commands []*command

func init() {
	commands = []*command{cmdTrust, cmdSync, cmdCheck, cmdScan, cmdImage, cmdInspect, cmdServe, cmdSeal, cmdOFD, cmdArchive, cmdLog, cmdReceipts}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func defaultStore() string {
	if d := os.Getenv("ELICENSE_VERIFY_STORE"); d != "" {
		return d
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".elicense-verify")
	}
	return ".elicense-verify"
}

func newFlagSet(c *command, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("elicense-verify "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed by run
	o.fs = fs
	fs.StringVar(&o.store, "store", defaultStore(), "trust store `directory` ($ELICENSE_VERIFY_STORE)")
	if c.common&withCounter != 0 {
		host, _ := os.Hostname()
		fs.StringVar(&o.counter, "counter", host, "counter `ID` recorded in the verification log")
	}
	if c.common&withLang != 0 {
		fs.StringVar(&o.lang, "lang", "zh", "language of the verdict sentence: zh or en")
	}
	if c.common&withJSON != 0 {
		fs.BoolVar(&o.json, "json", false, "print each verdict as one JSON object on a line, and nothing else on stdout")
	}
	if c.common&withSync != 0 {
		fs.StringVar(&o.from, "from", "", "issuer base `URL` to sync from (default: the one the last sync used)")
		fs.DurationVar(&o.syncEvery, "sync-every", 5*time.Minute, "sync on this `interval`, ±10 % jitter, backing off on failure; 0: never")
	}
	if c.common&withAt != 0 {
		fs.StringVar(&o.at, "at", "", "check as of this later `time` (RFC 3339) instead of now, as a scan of a capture then would")
	}
	if c.flags != nil {
		c.flags(fs, o)
	}
	return fs
}

// parseArgs parses flags anywhere among the arguments (check TEXT --json
// as well as check --json TEXT); "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func run(args []string, e env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(e.stdout)
		return exitOK
	case "help":
		if len(args) == 1 {
			usage(e.stdout)
			return exitOK
		}
		if c := lookup(args[1]); c != nil {
			var o options
			printHelp(e.stdout, c, newFlagSet(c, &o))
			return exitOK
		}
		fmt.Fprintf(e.stderr, "elicense-verify help: unknown command %q\n", args[1])
		return exitUsage
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "elicense-verify: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return exitUsage
	}
	var o options
	fs := newFlagSet(c, &o)
	pos, err := parseArgs(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		printHelp(e.stdout, c, fs)
		return exitOK
	}
	if err != nil {
		return usageError(e, c.name, "%v", err)
	}
	if c.common&withLang != 0 && o.lang != "zh" && o.lang != "en" {
		return usageError(e, c.name, "--lang %q: use zh or en", o.lang)
	}
	if o.syncEvery < 0 {
		return usageError(e, c.name, "--sync-every %s: use a positive interval, or 0 for never", o.syncEvery)
	}
	if o.at != "" {
		at, err := time.Parse(time.RFC3339, o.at)
		if err != nil {
			return usageError(e, c.name, "--at %q: use an RFC 3339 time, e.g. 2026-03-08T10:00:00+08:00", o.at)
		}
		// Only later: an earlier time would accept a capture whose window
		// has passed.
		if at.Before(e.now()) {
			return usageError(e, c.name, "--at %s is in the past: a check can be moved later, never earlier", o.at)
		}
		e.now = func() time.Time { return at }
	}
	return c.run(e, &o, pos)
}

func printHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprint(w, strings.TrimLeft(c.usage, "\n"))
	fmt.Fprint(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// usageError reports a usage problem of command c and returns exitUsage.
func usageError(e env, c string, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "elicense-verify %s: %s\nRun 'elicense-verify %s --help' for usage.\n", c, fmt.Sprintf(format, args...), c)
	return exitUsage
}

// fail reports an error of the store, a file or the network.
func fail(e env, err error) int {
	fmt.Fprintln(e.stderr, "elicense-verify:", err)
	switch {
	case errors.Is(err, vlog.ErrTampered):
		fmt.Fprintln(e.stderr, "The verification log's chain is broken; nothing is verified until it is repaired: stop elicense-verify on this store,\n"+
			"keep verifications.jsonl as evidence and move it aside; a new log then starts.")
	case errors.Is(err, store.ErrNoRoots):
		fmt.Fprintln(e.stderr, "Pin the issuer's root first: elicense-verify trust add --fingerprint HEX root.crt.pem")
	case errors.Is(err, store.ErrNoCache), errors.Is(err, store.ErrNoSource):
		fmt.Fprintln(e.stderr, "Sync first: elicense-verify sync --from URL")
	}
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `elicense-verify — 电子证照核验 (counter verifier)

Usage:
  elicense-verify <command> [flags] [arguments]
  elicense-verify help <command>
  elicense-verify <command> --help

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command takes --store DIR (default $ELICENSE_VERIFY_STORE or
~/.elicense-verify); flags may come before or after the arguments.

Exit status: 0 VALID or VALID_STATIC (or success), 1 any other verdict,
2 usage, trust-store or file error.
`)
}

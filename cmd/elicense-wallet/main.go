package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"elicense/internal/gm"
	mobilesdk "elicense/mobile-sdk"
)

const passphraseEnv = "ELICENSE_WALLET_PASSPHRASE"

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// A command is one subcommand: its synopsis for the command list, its
// full help (synopsis, description, examples; the flags are appended),
// its own flags and what it does.
type command struct {
	name, summary, usage string
	run                  func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error
	flags                func(fs *flag.FlagSet)
}

// env is what every command shares.
type env struct {
	stdout, stderr io.Writer
	dir            string
	passFile       string
	lang           string // the holder's language for status messages: "zh" or "en"
}

func (e *env) open() (*mobilesdk.Wallet, error) {
	pass, err := gm.PassphraseSource{File: e.passFile, Env: passphraseEnv}.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %v\n%s", errUsage, err, passphraseHowTo)
	}
	return mobilesdk.Open(e.dir, string(pass))
}

// passphraseHowTo says how to give the wallet its passphrase.
const passphraseHowTo = `The wallet's passphrase comes from the environment variable ` + passphraseEnv + `
or from a file named by --passphrase-file, never from the command line (other
users can read a command line). For example, in a shell:
  read -rs ` + passphraseEnv + ` && export ` + passphraseEnv + `
The first command on a new wallet sets the passphrase (at least 4 characters).`

// holderLang picks the language of the messages meant for the holder from
// the locale (LC_ALL, LC_MESSAGES, LANG): English for en*, Chinese
// otherwise, since the licences and their agencies are Chinese.
func holderLang() string {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := os.Getenv(k); v != "" {
			if strings.HasPrefix(strings.ToLower(v), "en") {
				return "en"
			}
			return "zh"
		}
	}
	return "zh"
}

// commonFlags is the help text of the flags every command takes.
const commonFlags = `
Every command takes --dir DIR (the wallet, default ~/.elicense-wallet) and
--passphrase-file FILE (else the passphrase comes from $` + passphraseEnv + `:
read -rs ` + passphraseEnv + ` && export ` + passphraseEnv + `). A passphrase is
never an argument. Flags may come before or after the arguments.
`

// licenceArg is the help text of a LICENCE argument.
const licenceArg = `
LICENCE is the licence's number in "elicense-wallet list" (1, 2, …), the
licence identifier printed on it (证照标识), or the wallet's copy identifier
(identifier#tag). When the wallet holds several copies of one licence, the
identifier is refused with their numbers: give the number.
`

var commands []*command

func init() {
	commands = []*command{
		{name: "claim", summary: "claim a licence with its one-time claim code (领证码) and keep it in the wallet", run: cmdClaim,
			usage: `
Usage: elicense-wallet claim [--server URL] [--trust-root FILE] CODE

Claims a licence with the one-time claim code (领证码) the agency gave the
holder: the wallet signs the issuer's challenge with its device key and
receives a copy of the licence bound to that key. It prints the licence's
class name, holder, identifier (证照标识) and its number in the wallet's
list, by which the other commands take it (--json: the licence as JSON,
with Index and ID, the copy identifier, for scripts).

With --trust-root the wallet pins that root certificate (once; it is kept
sealed in the wallet), verifies the claimed licence against the issuer's
trust bundle and reads its status from the signed status list. Without a
pinned root the licence's status stays "unknown" until a refresh with one.
` + commonFlags + `
Examples:
  elicense-wallet claim --server https://licences.example.gov.cn --trust-root root.crt.pem 0000-1A7K-3QM9-PX2R-TB8W
  elicense-wallet claim --dir ./wallet --json 0000-1A7K-3QM9-PX2R-TB8W | jq -r .ID
`,
			flags: func(fs *flag.FlagSet) {
				fs.Bool("json", false, "print the claimed licence as JSON")
				fs.String("server", "http://127.0.0.1:8080", "the issuer's base `URL`")
				fs.String("trust-root", "", "pin this root certificate (PEM `file`) and verify the claimed licence against the issuer's trust bundle")
			}},
		{name: "list", summary: "list the licences with their status and when it was last refreshed", run: cmdList,
			usage: `
Usage: elicense-wallet list [--json]

Lists the licences in the wallet in the order they were claimed, one per
line: its number (#, which the other commands take), the licence identifier
(证照标识), class, status (valid, revoked, suspended, superseded, or unknown
before the status was first read), when the status was last refreshed
(marked "(old)" past the class's limit, 24 h for most classes), valid until,
holder. --json adds the copy identifier (ID) and every field. A damaged
store file is reported on stderr, and the others are still listed (exit
status 1).
` + commonFlags + `
Examples:
  elicense-wallet list
  elicense-wallet list --json | jq -r '.[] | select(.Status != "valid") | .CopyOf'
`,
			flags: func(fs *flag.FlagSet) {
				fs.Bool("json", false, "print the licences as a JSON array")
			}},
		{name: "show", summary: "show one licence: its face, fields and status", run: cmdShow,
			usage: `
Usage: elicense-wallet show [--json | --credential] LICENCE

Shows one licence: its face, its status and when the status was last
refreshed, and its fields (* marks the optional ones, which a presentation
shows only when disclosed).
` + licenceArg + commonFlags + `
Examples:
  elicense-wallet show 1
  elicense-wallet show 1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20261125ABCD1234.001.7 --json
  elicense-wallet show --credential 1 > licence.jws
`,
			flags: func(fs *flag.FlagSet) {
				fs.Bool("json", false, "print the licence as JSON")
				fs.Bool("credential", false, "print the full credential (compact JWS)")
			}},
		{name: "present", summary: "print a device-signed QR presentation (EL2:…) of a licence", run: cmdPresent,
			usage: `
Usage: elicense-wallet present [--disclose key,key] [--png FILE] [--terminal] [--watch] LICENCE

Prints a device-signed QR presentation (EL2:…) of the licence on stdout. A
counter accepts it for 60 s; --watch prints a fresh one every --interval,
as a phone refreshes its screen.

A licence the wallet knows to be revoked, suspended or superseded is not
presented: the reason is printed on stderr in the holder's language
(Chinese, or English when LC_ALL, LC_MESSAGES or LANG is en*) and the exit
status is 3. Run refresh first to learn the current status. A status that is
unknown or old (past the class's limit, 24 h for most classes) is presented
with a warning on stderr saying how old it is: the counter checks the status
itself.
` + licenceArg + commonFlags + `
Examples:
  elicense-wallet present 1 --terminal
  elicense-wallet present 1 --disclose domicile --png qr.png
  elicense-wallet present --watch --text 1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20261125ABCD1234.001.7
`,
			flags: func(fs *flag.FlagSet) {
				fs.String("disclose", "", "optional fields to disclose, comma-separated `keys` (see show); "+mobilesdk.DiscloseCredential+" discloses the credential digest")
				fs.String("png", "", "also write the QR code as a PNG to this `file`")
				fs.Int("ppm", 4, "PNG `pixels` per QR module")
				fs.Bool("terminal", false, "also draw the QR code on stderr")
				fs.Bool("text", false, "print only the QR text on stdout (the default output, for scripts)")
				fs.Bool("watch", false, "print a fresh presentation every --interval until interrupted")
				fs.Duration("interval", mobilesdk.RefreshSeconds*time.Second, "refresh `interval` with --watch")
				fs.Int("count", 0, "with --watch, stop after this many presentations (0: never)")
			}},
		{name: "refresh", summary: "read the licences' current status from the issuer's signed status lists", run: cmdRefresh,
			usage: `
Usage: elicense-wallet refresh [--trust-root FILE] [LICENCE ...]

Reads the current status of the named licences (all of them without one)
from their issuers' status lists, verified as a counter verifies them: the
trust bundle under the pinned root, the list signed by the key the bundle
names for it, not expired and not older than the list read before. Prints
one line per licence: copy identifier, status, when it was refreshed. It
needs a pinned trust root: give --trust-root the first time if claim had
none.
` + licenceArg + commonFlags + `
Examples:
  elicense-wallet refresh
  elicense-wallet refresh --trust-root root.crt.pem 1
`,
			flags: func(fs *flag.FlagSet) {
				fs.String("trust-root", "", "pin this root certificate (PEM `file`) first, if none is pinned yet")
			}},
		{name: "consent", summary: "answer a service's request for a licence's data (授权用证): approve chosen fields or refuse", run: cmdConsent,
			usage: `
Usage: elicense-wallet consent [--licence LICENCE] [--fields key,key] [--refuse] [--yes] LINK

Opens the request a registered online service (用证方) shows as a QR code or
link: its wallet link (https://issuer/wallet/?request=r_…) or request_uri
(https://issuer/v1/requests/r_…). The request is verified with the issuer's
trust bundle under the pinned root, then shown: who asks, for which service
matter (事项), which fields and why, for how long, once or repeatedly.

The holder then approves (by default every requested field; --fields
narrows it) or, with --refuse, refuses. The answer is signed with the
licence's device key. The wallet asks "y/N" on stdin unless --yes is
given. --licence picks the licence when more than one can answer.
` + licenceArg + commonFlags + `
Examples:
  elicense-wallet consent 'https://licences.example.gov.cn/wallet/?request=r_…'
  elicense-wallet consent --fields name,domicile --yes 'https://licences.example.gov.cn/wallet/?request=r_…'
  elicense-wallet consent --refuse --yes 'https://licences.example.gov.cn/v1/requests/r_…'
`,
			flags: func(fs *flag.FlagSet) {
				fs.String("licence", "", "the `LICENCE` that answers (needed only when several can)")
				fs.String("fields", "", "approve only these requested fields, comma-separated `keys` (default: all requested)")
				fs.Bool("refuse", false, "refuse the request")
				fs.Bool("yes", false, "answer without asking for confirmation")
			}},
		{name: "grants", summary: "list a licence's grants to online services, or revoke one", run: cmdGrants,
			usage: `
Usage: elicense-wallet grants [LICENCE ...]
       elicense-wallet grants revoke [--licence LICENCE] GRANT

Lists the grants (授权) made with the named licences (every licence without
one), as the issuer holds them: grant ID, state (active, used, expired,
revoked), once or repeat, until when, the fields, and the service. "grants
revoke" ends a grant at once: the service's next fetch is refused.
` + licenceArg + commonFlags + `
Examples:
  elicense-wallet grants
  elicense-wallet grants 1 --json
  elicense-wallet grants revoke g_3q2-7wEt0sEJ7pL5d0G9xw
`,
			flags: func(fs *flag.FlagSet) {
				fs.Bool("json", false, "print the grants as a JSON array")
				fs.String("licence", "", "with revoke: the `LICENCE` the grant is of (default: found among the wallet's)")
			}},
		{name: "uses", summary: "list a licence's uses (用证记录), each checked against the public ledger", run: cmdUses,
			usage: `
Usage: elicense-wallet uses [--json] [LICENCE ...]

Lists every ledger event about the named licences (every licence without
one), oldest first: the claim, each grant to an online service, each fetch
and revocation, and each counter verification. Each is checked by the
wallet itself: the ledger entry says what the issuer lists, the licence's
commitment in it opens to this licence, and the entry is in the ledger
under a checkpoint signed by the ledger key (✓). A use that does not check
is marked ✗ with the reason, and the exit status is 1.
` + licenceArg + commonFlags + `
Examples:
  elicense-wallet uses
  elicense-wallet uses 1 --json
`,
			flags: func(fs *flag.FlagSet) {
				fs.Bool("json", false, "print the uses as a JSON array")
			}},
		{name: "delete", summary: "remove a licence from the wallet", run: cmdDelete,
			usage: `
Usage: elicense-wallet delete LICENCE

Removes a licence from this wallet. The issuer keeps the device copy: ask
the agency to unbind a lost device. The numbers of the licences listed
after it move up by one.
` + licenceArg + commonFlags + `
Examples:
  elicense-wallet delete 2
`},
		ofdCommand,
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `elicense-wallet: a holder's wallet of electronic licences (电子证照) on the command line

Usage:
  elicense-wallet <command> [flags] [arguments]
  elicense-wallet help <command>
  elicense-wallet <command> --help

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, licenceArg+commonFlags+`
A holder's first steps:
  read -rs `+passphraseEnv+` && export `+passphraseEnv+`
  elicense-wallet claim --server https://licences.example.gov.cn --trust-root root.crt.pem CODE
  elicense-wallet list
  elicense-wallet present 1 --terminal

Exit status: 0 success, 1 failure, 2 usage error, 3 the licence cannot be
presented (revoked, suspended or superseded).
`)
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// newFlagSet declares a command's flags and the common ones. Errors and
// help are printed by run.
func newFlagSet(c *command, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("elicense-wallet "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	home, _ := os.UserHomeDir()
	fs.StringVar(&e.dir, "dir", filepath.Join(home, ".elicense-wallet"), "wallet `directory`")
	fs.StringVar(&e.passFile, "passphrase-file", "", "`file` whose first line is the wallet passphrase (default: $"+passphraseEnv+")")
	if c.flags != nil {
		c.flags(fs)
	}
	return fs
}

func printHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprint(w, strings.TrimLeft(c.usage, "\n"))
	fmt.Fprint(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "help":
		if len(args) == 1 {
			usage(stdout)
			return 0
		}
		if c := lookup(args[1]); c != nil {
			printHelp(stdout, c, newFlagSet(c, &env{}))
			return 0
		}
		fmt.Fprintf(stderr, "elicense-wallet help: unknown command %q\n", args[1])
		return 2
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "elicense-wallet: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	e := &env{stdout: stdout, stderr: stderr, lang: holderLang()}
	fs := newFlagSet(cmd, e)
	pos, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, cmd, fs)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "elicense-wallet %s: %v\nRun 'elicense-wallet %s --help' for usage.\n", cmd.name, flagError(err), cmd.name)
		return 2
	}
	if err := cmd.run(ctx, e, fs, pos); err != nil {
		var se *mobilesdk.StatusError
		if errors.As(err, &se) {
			return 3 // the command printed the holder's message
		}
		printError(stderr, cmd.name, e.lang, err)
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "Run 'elicense-wallet %s --help' for usage.\n", cmd.name)
			return 2
		}
		return 1
	}
	return 0
}

// printError tells the holder what went wrong and what to do, in their
// language, for the SDK's errors (mobilesdk.ErrorMessage, chosen by
// reason), with the technical detail below; other errors (usage, files)
// as they are.
func printError(w io.Writer, cmd, lang string, err error) {
	if mobilesdk.Reason(err) == mobilesdk.ReasonUnknown || errors.Is(err, errUsage) {
		fmt.Fprintf(w, "elicense-wallet %s: %v\n", cmd, err)
		return
	}
	fmt.Fprintf(w, "elicense-wallet %s: %s\n  detail: %v\n", cmd, mobilesdk.ErrorMessage(err, lang), err)
}

// flagError rewords the flag package's errors to name the flag as it is
// written on the command line.
func flagError(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag --" + name + " needs a value"
	}
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		return "invalid value " + strings.Replace(rest, " for flag -", " for flag --", 1)
	}
	return msg
}

// parseInterleaved parses flags placed before or after the positional
// arguments ("present ID --disclose x"); "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func oneArg(pos []string, what string) (string, error) {
	if len(pos) != 1 {
		return "", fmt.Errorf("%w: want exactly one %s, got %d arguments", errUsage, what, len(pos))
	}
	return pos[0], nil
}

func flagString(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }

func flagBool(fs *flag.FlagSet, name string) bool {
	return fs.Lookup(name).Value.(flag.Getter).Get().(bool)
}

func cmdClaim(_ context.Context, e *env, fs *flag.FlagSet, pos []string) error {
	code, err := oneArg(pos, "claim code")
	if err != nil {
		return err
	}
	w, err := e.open()
	if err != nil {
		return err
	}
	if root := flagString(fs, "trust-root"); root != "" {
		pem, err := os.ReadFile(root)
		if err != nil {
			return err
		}
		if err := w.SetTrustRoot(pem); err != nil {
			return err
		}
	}
	l, err := w.Claim(flagString(fs, "server"), code)
	if err != nil {
		return err
	}
	if flagBool(fs, "json") {
		return writeJSON(e.stdout, l)
	}
	printClaimed(e, l)
	return nil
}

// printClaimed tells the holder what they claimed and how to name it.
func printClaimed(e *env, l *mobilesdk.Licence) {
	name := l.Name
	if name == "" {
		name = l.Class
	}
	printed := cmp.Or(l.CopyOf, l.ID)
	if e.lang == "en" {
		fmt.Fprintf(e.stdout, "Claimed licence %d: %s · %s\n  licence identifier  %s\n  copy in this wallet %s\n  show it at a counter: elicense-wallet present %d --terminal\n",
			l.Index, name, l.HolderName, printed, l.ID, l.Index)
		return
	}
	fmt.Fprintf(e.stdout, "已领取第 %d 份证照：%s · %s\n  证照标识  %s\n  本机副本  %s\n  出示：elicense-wallet present %d --terminal\n",
		l.Index, name, l.HolderName, printed, l.ID, l.Index)
}

func cmdList(_ context.Context, e *env, fs *flag.FlagSet, pos []string) error {
	if len(pos) != 0 {
		return fmt.Errorf("%w: list takes no arguments", errUsage)
	}
	w, err := e.open()
	if err != nil {
		return err
	}
	l, err := w.List()
	if err != nil {
		return err
	}
	if flagBool(fs, "json") {
		all := make([]*mobilesdk.Licence, 0, l.Len())
		for i := int64(0); i < l.Len(); i++ {
			all = append(all, l.At(i))
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(all); err != nil {
			return err
		}
	} else if l.Len() > 0 {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		// The holder last: tabwriter counts a Chinese character as one
		// column, a terminal shows it as two.
		fmt.Fprintln(tw, "#\tLICENCE\tCLASS\tSTATUS\tREFRESHED\tVALID UNTIL\tHOLDER")
		now := time.Now().Unix()
		for i := int64(0); i < l.Len(); i++ {
			x := l.At(i)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Index, cmp.Or(x.CopyOf, x.ID), x.Class, x.Status, refreshed(x, now), x.ValidUntil, x.HolderName)
		}
		tw.Flush()
	}
	if l.Damaged() > 0 {
		return fmt.Errorf("%d damaged store file(s), the first: %w", l.Damaged(), l.Err())
	}
	return nil
}

// refreshed says when the licence's status was last read, and whether
// that is too long ago.
func refreshed(l *mobilesdk.Licence, now int64) string {
	if l.RefreshedAt == 0 {
		return "never"
	}
	s := time.Unix(l.RefreshedAt, 0).Format("2006-01-02 15:04:05")
	if l.StatusStale(now) {
		s += " (old)"
	}
	return s
}

func cmdShow(_ context.Context, e *env, fs *flag.FlagSet, pos []string) error {
	id, err := oneArg(pos, "licence ID")
	if err != nil {
		return err
	}
	w, err := e.open()
	if err != nil {
		return err
	}
	if flagBool(fs, "credential") {
		jws, err := w.Credential(id)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, jws)
		return nil
	}
	l, err := w.Get(id)
	if err != nil {
		return err
	}
	if flagBool(fs, "json") {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(l)
	}
	fmt.Fprintf(e.stdout, "%s (%s)\nList #:     %d\nLicence:    %s\nCopy:       %s\n", l.Name, l.Class, l.Index, cmp.Or(l.CopyOf, l.ID), l.ID)
	if l.Number != "" {
		fmt.Fprintf(e.stdout, "Number:     %s\n", l.Number)
	}
	now := time.Now().Unix()
	fmt.Fprintf(e.stdout, "Holder:     %s (%s)\nIssuer:     %s (%s), %s\nValid:      %s to %s\nStatus:     %s\nRefreshed:  %s",
		l.HolderName, l.HolderCode, l.IssuerName, l.IssuerCode, l.IssuedOn, l.ValidFrom, l.ValidUntil, l.Status, refreshed(l, now))
	if l.StatusAt != 0 {
		fmt.Fprintf(e.stdout, ", from the status list signed %s", time.Unix(l.StatusAt, 0).Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintln(e.stdout)
	if note := l.StatusNote(e.lang, now); note != "" {
		fmt.Fprintf(e.stdout, "            %s\n", note)
	}
	fmt.Fprintf(e.stdout, "Claimed:    %s from %s\nVerified:   %v\n", time.Unix(l.ClaimedAt, 0).Format("2006-01-02 15:04:05"), l.Server, l.Verified)
	var fields map[string]string
	json.Unmarshal([]byte(l.FieldsJSON), &fields)
	optional := map[string]bool{}
	for _, k := range strings.Split(l.Optional, ",") {
		optional[k] = true
	}
	fmt.Fprintln(e.stdout, "Fields:")
	for _, k := range sortedKeys(fields) {
		mark := " "
		if optional[k] {
			mark = "*"
		}
		fmt.Fprintf(e.stdout, "  %s %-24s %s\n", mark, k, fields[k])
	}
	fmt.Fprintln(e.stdout, "(* optional: shown in the QR only when disclosed with present --disclose)")
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func cmdPresent(ctx context.Context, e *env, fs *flag.FlagSet, pos []string) error {
	id, err := oneArg(pos, "licence ID")
	if err != nil {
		return err
	}
	interval := fs.Lookup("interval").Value.(flag.Getter).Get().(time.Duration)
	if interval < time.Second {
		return fmt.Errorf("%w: --interval must be at least 1s", errUsage)
	}
	ppm := fs.Lookup("ppm").Value.(flag.Getter).Get().(int)
	count := fs.Lookup("count").Value.(flag.Getter).Get().(int)
	w, err := e.open()
	if err != nil {
		return err
	}
	for n := 1; ; n++ {
		p, err := w.Present(id, flagString(fs, "disclose"), 0)
		var se *mobilesdk.StatusError
		if errors.As(err, &se) {
			fmt.Fprintln(e.stderr, se.Message(e.lang))
			return err
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, p.Text)
		if p.StatusStale && n == 1 {
			if l, err := w.Get(id); err == nil {
				fmt.Fprintf(e.stderr, "elicense-wallet present: %s\n", l.StatusNote(e.lang, p.PresentedAt))
			}
		}
		if !flagBool(fs, "text") {
			if png := flagString(fs, "png"); png != "" {
				img, err := mobilesdk.QRPNG(p.Text, int64(ppm))
				if err != nil {
					return err
				}
				if err := os.WriteFile(png, img, 0o644); err != nil {
					return err
				}
			}
			if flagBool(fs, "terminal") {
				art, err := mobilesdk.QRTerminal(p.Text)
				if err != nil {
					return err
				}
				fmt.Fprint(e.stderr, art)
				fmt.Fprintf(e.stderr, "valid until %s\n", time.Unix(p.ExpiresAt, 0).Format(time.TimeOnly))
			}
		}
		if !flagBool(fs, "watch") || (count > 0 && n >= count) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

func cmdRefresh(_ context.Context, e *env, fs *flag.FlagSet, pos []string) error {
	w, err := e.open()
	if err != nil {
		return err
	}
	if root := flagString(fs, "trust-root"); root != "" {
		pinned, err := w.TrustRoot()
		if err != nil {
			return err
		}
		if pinned == nil {
			pem, err := os.ReadFile(root)
			if err != nil {
				return err
			}
			if err := w.SetTrustRoot(pem); err != nil {
				return err
			}
		}
	}
	if pinned, err := w.TrustRoot(); err != nil {
		return err
	} else if pinned == nil {
		return fmt.Errorf("%w: no trust root is pinned: give --trust-root FILE (the licence system's root certificate) to check status lists", errUsage)
	}
	ids := pos
	if len(ids) == 0 {
		l, err := w.List()
		if err != nil {
			return err
		}
		for i := int64(0); i < l.Len(); i++ {
			ids = append(ids, l.At(i).ID)
		}
		if l.Len() == 0 {
			fmt.Fprintln(e.stderr, "elicense-wallet refresh: the wallet holds no licences")
		}
	}
	var first error
	failed := 0
	for _, id := range ids {
		l, err := w.Refresh(id)
		if err != nil {
			printError(e.stderr, "refresh", e.lang, fmt.Errorf("%s: %w", id, err))
			failed++
			if first == nil {
				first = err
			}
			continue
		}
		fmt.Fprintf(e.stdout, "%s\t%s\trefreshed %s\n", l.ID, l.Status, time.Unix(l.RefreshedAt, 0).Format("2006-01-02 15:04:05"))
		if note := l.StatusNote(e.lang, 0); note != "" {
			fmt.Fprintf(e.stderr, "%s: %s\n", l.ID, note)
		}
	}
	if first != nil {
		return fmt.Errorf("%d of %d licences not refreshed, the first: %w", failed, len(ids), first)
	}
	return nil
}

func cmdDelete(_ context.Context, e *env, _ *flag.FlagSet, pos []string) error {
	id, err := oneArg(pos, "licence ID")
	if err != nil {
		return err
	}
	// The numbers list shows move up when a licence is removed, so
	// "delete 1" twice would remove two licences: a removal names the
	// licence itself.
	if _, err := strconv.Atoi(id); err == nil {
		return fmt.Errorf("%w: delete takes the licence's 证照标识 or copy ID, not its number in list (the numbers move when one is removed)", errUsage)
	}
	w, err := e.open()
	if err != nil {
		return err
	}
	return w.Delete(id)
}

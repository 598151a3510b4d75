package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
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

type command struct {
	name, args, help string
	run              func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error
	flags            func(fs *flag.FlagSet)
}

// env is what every command shares.
type env struct {
	stdout, stderr io.Writer
	dir            string
	passFile       string
}

func (e *env) open() (*mobilesdk.Wallet, error) {
	pass, err := gm.PassphraseSource{File: e.passFile, Env: passphraseEnv}.Read()
	if err != nil {
		return nil, fmt.Errorf("passphrase: %w (use --passphrase-file or %s)", err, passphraseEnv)
	}
	return mobilesdk.Open(e.dir, string(pass))
}

var commands []*command

func init() {
	commands = []*command{
		{name: "claim", args: "[--server URL] [--trust-root FILE] CODE", help: "claim a licence with its one-time claim code (领证码) and keep it in the wallet", run: cmdClaim,
			flags: func(fs *flag.FlagSet) {
				fs.String("server", "http://127.0.0.1:8080", "the issuer's base URL")
				fs.String("trust-root", "", "pin this root certificate (PEM) and verify the claimed licence against the issuer's trust bundle")
			}},
		{name: "list", help: "list the licences in the wallet", run: cmdList},
		{name: "show", args: "[--json | --credential] ID", help: "show one licence", run: cmdShow,
			flags: func(fs *flag.FlagSet) {
				fs.Bool("json", false, "print the licence as JSON")
				fs.Bool("credential", false, "print the full credential (compact JWS)")
			}},
		{name: "present", args: "[--disclose key,key] [--png FILE] [--terminal] [--watch] ID", help: "print a device-signed QR presentation (EL1:…) of a licence", run: cmdPresent,
			flags: func(fs *flag.FlagSet) {
				fs.String("disclose", "", "optional fields to disclose, comma-separated keys (see show); "+mobilesdk.DiscloseCredential+" discloses the credential digest")
				fs.String("png", "", "also write the QR code as a PNG to this file")
				fs.Int("ppm", 4, "PNG pixels per QR module")
				fs.Bool("terminal", false, "also draw the QR code on stderr")
				fs.Bool("text", false, "print only the QR text on stdout (the default output, for scripts)")
				fs.Bool("watch", false, "print a fresh presentation every --interval until interrupted")
				fs.Duration("interval", mobilesdk.RefreshSeconds*time.Second, "refresh interval with --watch")
				fs.Int("count", 0, "with --watch, stop after this many presentations (0: never)")
			}},
		{name: "refresh", args: "ID", help: "read the licence's current status from the issuer's signed status list", run: cmdRefresh},
		{name: "delete", args: "ID", help: "remove a licence from the wallet", run: cmdDelete},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: elicense-wallet COMMAND [flags] [args]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.help)
	}
	fmt.Fprintf(w, "\nEvery command takes --dir DIR (default ~/.elicense-wallet) and --passphrase-file FILE\n"+
		"(otherwise the passphrase comes from $%s).\nRun 'elicense-wallet COMMAND --help' for a command's flags.\n", passphraseEnv)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	var cmd *command
	for _, c := range commands {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "elicense-wallet: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	e := &env{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("elicense-wallet "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	home, _ := os.UserHomeDir()
	fs.StringVar(&e.dir, "dir", filepath.Join(home, ".elicense-wallet"), "wallet directory")
	fs.StringVar(&e.passFile, "passphrase-file", "", "file whose first line is the wallet passphrase (default: $"+passphraseEnv+")")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: elicense-wallet %s %s\n\n%s%s.\n\nFlags:\n", cmd.name, cmd.args, strings.ToUpper(cmd.help[:1]), cmd.help[1:])
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	if err != nil {
		return 2
	}
	if err := cmd.run(ctx, e, fs, pos); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "elicense-wallet %s: %v\n", cmd.name, err)
			fs.Usage()
			return 2
		}
		fmt.Fprintf(stderr, "elicense-wallet %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

// parseInterleaved parses flags placed before or after the positional
// arguments ("present ID --disclose x").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
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
	fmt.Fprintln(e.stdout, l.ID)
	return nil
}

func cmdList(_ context.Context, e *env, _ *flag.FlagSet, pos []string) error {
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
	for i := int64(0); i < l.Len(); i++ {
		x := l.At(i)
		fmt.Fprintf(e.stdout, "%s\t%s\t%s\t%s\t%s\n", x.ID, x.Class, x.HolderName, x.ValidUntil, x.Status)
	}
	if l.Damaged() > 0 {
		return fmt.Errorf("%d damaged store file(s), the first: %w", l.Damaged(), l.Err())
	}
	return nil
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
	fmt.Fprintf(e.stdout, "%s (%s)\nID:         %s\n", l.Name, l.Class, l.ID)
	if l.Number != "" {
		fmt.Fprintf(e.stdout, "Number:     %s\n", l.Number)
	}
	fmt.Fprintf(e.stdout, "Holder:     %s (%s)\nIssuer:     %s (%s), %s\nValid:      %s to %s\nStatus:     %s (when claimed from %s)\nVerified:   %v\n",
		l.HolderName, l.HolderCode, l.IssuerName, l.IssuerCode, l.IssuedOn, l.ValidFrom, l.ValidUntil, l.Status, l.Server, l.Verified)
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
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, p.Text)
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

func cmdRefresh(_ context.Context, e *env, _ *flag.FlagSet, pos []string) error {
	id, err := oneArg(pos, "licence ID")
	if err != nil {
		return err
	}
	w, err := e.open()
	if err != nil {
		return err
	}
	l, err := w.Refresh(id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s\t%s\t(status list of %s)\n", l.ID, l.Status, time.Unix(l.StatusAt, 0).Format(time.RFC3339))
	return nil
}

func cmdDelete(_ context.Context, e *env, _ *flag.FlagSet, pos []string) error {
	id, err := oneArg(pos, "licence ID")
	if err != nil {
		return err
	}
	w, err := e.open()
	if err != nil {
		return err
	}
	return w.Delete(id)
}

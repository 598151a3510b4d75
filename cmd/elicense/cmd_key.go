package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/pki"
)

func init() {
	register(&command{
		name:    "key",
		summary: "rotate an agency's signing key, or mark an old key compromised",
		usage: `
Usage: elicense key rotate --agency CODE [--compromised-since TIME] [--data DIR]
       elicense key compromise --agency CODE --key KEYID --since TIME [--data DIR]

rotate gives the agency a new SM2 key certified by the root with the same
classes, destroys the old private key and keeps its certificate: retired
(what it signed stays valid) or, with --compromised-since, compromised (what
it signed at or after that time is rejected by counters). compromise marks
an already retired key compromised since TIME. Both are recorded in the
ledger (key-rotate, key-compromise) and take effect when the server starts:
stop it first (the ledger allows one writer), then start it again; the next
trust bundle lists the keys with their states.

TIME is RFC 3339, e.g. 2026-11-20T09:00:00+08:00. The passphrase comes from
--passphrase-file, ELICENSE_PASSPHRASE_FILE, ELICENSE_PASSPHRASE or
DIR/passphrase.

Examples:
  elicense key rotate --agency 11310000PDY100010H
  elicense key rotate --agency 11310000PDY100010H --compromised-since 2026-11-20T09:00:00+08:00
  elicense key compromise --agency 11310000PDY100010H --key 3f2a9c0d11e4b7a5 --since 2026-11-01T00:00:00Z
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("agency", "", "agency `code`")
			fs.String("key", "", "key `ID` of a previous key (compromise)")
			fs.String("since", "", "compromised since `time` (compromise)")
			fs.String("compromised-since", "", "rotate out as compromised since `time`")
			fs.String("data", defaultData, "the server's data `directory`")
			fs.String("passphrase-file", "", "read the key passphrase from `file`")
		},
		run: runKey,
	})
}

func runKey(e *env, fs *flag.FlagSet) int {
	if fs.NArg() < 1 {
		return usageError(e, "key", "want: key rotate | key compromise")
	}
	sub := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return usageError(e, "key", "%v", err)
	}
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	d := dataDir(get("data"))
	agency := get("agency")
	if agency == "" {
		return usageError(e, "key", "--agency is required")
	}
	parseTime := func(flagName string) (time.Time, bool) {
		v := get(flagName)
		if v == "" {
			return time.Time{}, true
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			usageError(e, "key", "--%s: %v", flagName, err)
			return t, false
		}
		return t, true
	}
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "elicense key: %v\n", err)
		return exitFail
	}
	pw, err := passphrase(e, d, get("passphrase-file"))
	if err != nil {
		return fail(err)
	}
	// Open the ledger first: if the server is running this fails at once,
	// before anything changes.
	p, err := pki.Load(d.pki(), pw)
	if err != nil {
		return fail(err)
	}
	lg, err := ledger.Open(ledger.Options{Path: d.ledger(), Origin: ledgerOrigin(p.Manifest.Root.KeyID), Signer: p.Ledger.Signer})
	if err != nil {
		return fail(fmt.Errorf("%w (stop the server first)", err))
	}
	defer lg.Close()
	entry := tlog.Entry{Time: time.Now(), Agency: agency, Operator: "elicense key " + sub}
	switch sub {
	case "rotate":
		since, ok := parseTime("compromised-since")
		if !ok {
			return exitUsage
		}
		newKID, oldKID, err := pki.Rotate(pki.RotateOptions{Dir: d.pki(), Passphrase: pw, Agency: agency, Compromised: !since.IsZero(), Since: since})
		if err != nil {
			return fail(err)
		}
		entry.Type, entry.LicenseID, entry.Extra = tlog.TypeKeyRotate, newKID, []byte(oldKID)
		if !since.IsZero() {
			entry.Type, entry.Reason = tlog.TypeKeyCompromise, "compromised since "+since.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(e.stdout, "agency %s: new key %s; old key %s %s\n", agency, newKID, oldKID, map[bool]string{true: "compromised", false: "retired"}[!since.IsZero()])
	case "compromise":
		since, ok := parseTime("since")
		if !ok {
			return exitUsage
		}
		if since.IsZero() || get("key") == "" {
			return usageError(e, "key", "compromise needs --key and --since")
		}
		if err := pki.Compromise(d.pki(), agency, get("key"), since); err != nil {
			return fail(err)
		}
		entry.Type, entry.LicenseID, entry.Reason = tlog.TypeKeyCompromise, get("key"), "compromised since "+since.UTC().Format(time.RFC3339)
		fmt.Fprintf(e.stdout, "agency %s: key %s compromised since %s\n", agency, get("key"), since.UTC().Format(time.RFC3339))
	default:
		return usageError(e, "key", "unknown subcommand %q (want rotate or compromise)", sub)
	}
	idx, err := lg.Append(context.Background(), entry)
	if err != nil {
		return fail(fmt.Errorf("the key changed but the ledger event failed: %w", err))
	}
	fmt.Fprintf(e.stdout, "recorded in the ledger at index %d; restart the server to use it\n", idx)
	return exitOK
}

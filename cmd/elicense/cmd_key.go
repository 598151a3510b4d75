package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/issuer/pki"
	"elicense/issuer/service"
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
(what it signed before the rotation stays valid; a QR claiming a later
signing time is refused, KEY_RETIRED) or, with --compromised-since,
compromised. compromise marks an already retired key compromised since TIME.

A thief holding a key can backdate what he signs, so a compromise does not
go by signing times: both commands build the key's genuine set, every QR
core the issuer signed with it before TIME (issuances, re-issues and the
device copies made at claim), from the records, and counters accept those
and refuse every other QR of the key (KEY_COMPROMISED). The set is kept in
the PKI directory, its SM3 goes into the ledger event, and the trust bundle
names it; counters fetch it once on sync.

Both are recorded in the ledger (key-rotate, key-compromise) and take effect
when the server starts: stop it first (the ledger allows one writer), then
start it again; the next trust bundle lists the keys with their states.

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
	data, err := service.OpenData(d.ledger(), ledger.Options{Origin: ledgerOrigin(p.Manifest.Root.KeyID), Signer: p.Ledger.Signer})
	if err != nil {
		return fail(fmt.Errorf("%w (stop the server first)", err))
	}
	defer data.Close()
	lg := data.Ledger
	audit, err := auditKey(e, d, pw, lg.Size() == 0)
	if err != nil {
		return fail(err)
	}
	now, operator := time.Now(), "elicense key "+sub
	var genuineSM3 ledgerevent.Digest
	var events []ledgerevent.Event
	// genuine builds and keeps the genuine set of key kid compromised
	// since since, and notes it in the ledger event.
	genuine := func(kid string, since time.Time) (*pki.GenuineRef, error) {
		doc, n, err := service.GenuineSet(data.Store, kid, since)
		if err != nil {
			return nil, fmt.Errorf("building the genuine set: %w", err)
		}
		ref, err := pki.WriteGenuineSet(d.pki(), agency, kid, doc, n)
		if err != nil {
			return nil, err
		}
		genuineSM3 = gm.SM3(doc)
		fmt.Fprintf(e.stdout, "genuine set of key %s: %d QR cores signed before %s, %d bytes, SM3 %s\n", kid, n, since.UTC().Format(time.RFC3339), len(doc), ref.SM3)
		return ref, nil
	}
	switch sub {
	case "rotate":
		since, ok := parseTime("compromised-since")
		if !ok {
			return exitUsage
		}
		var ref *pki.GenuineRef
		if !since.IsZero() {
			a, ok := p.Agency(agency)
			if !ok {
				return fail(fmt.Errorf("%w: no agency %s", pki.ErrRotate, agency))
			}
			if since.After(time.Now()) {
				return fail(fmt.Errorf("%w: a compromise needs a time at or before now", pki.ErrRotate))
			}
			if ref, err = genuine(a.KeyID, since); err != nil {
				return fail(err)
			}
		}
		newKID, oldKID, err := pki.Rotate(pki.RotateOptions{Dir: d.pki(), Passphrase: pw, Agency: agency, Compromised: !since.IsZero(), Since: since, Genuine: ref})
		if err != nil {
			return fail(err)
		}
		events = append(events, audit.KeyRotated(ledgerevent.KeyRotated{Time: now, Agency: agency, KeyID: newKID, Previous: oldKID}, operator))
		if !since.IsZero() {
			events = append(events, audit.KeyCompromised(ledgerevent.KeyCompromised{Time: now, Agency: agency, KeyID: oldKID, Since: since, Genuine: genuineSM3}, operator))
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
		if since.After(time.Now()) {
			return fail(fmt.Errorf("%w: a compromise needs a time at or before now", pki.ErrRotate))
		}
		a, ok := p.Agency(agency)
		if !ok || !slices.ContainsFunc(a.Previous, func(pk *pki.Previous) bool { return pk.KeyID == get("key") }) {
			return fail(fmt.Errorf("%w: agency %s has no previous key %s (the current key is compromised with key rotate --compromised-since)", pki.ErrRotate, agency, get("key")))
		}
		ref, err := genuine(get("key"), since)
		if err != nil {
			return fail(err)
		}
		if err := pki.CompromiseWith(d.pki(), agency, get("key"), since, ref); err != nil {
			return fail(err)
		}
		events = append(events, audit.KeyCompromised(ledgerevent.KeyCompromised{Time: now, Agency: agency, KeyID: get("key"), Since: since, Genuine: genuineSM3}, operator))
		fmt.Fprintf(e.stdout, "agency %s: key %s compromised since %s\n", agency, get("key"), since.UTC().Format(time.RFC3339))
	default:
		return usageError(e, "key", "unknown subcommand %q (want rotate or compromise)", sub)
	}
	raw := make([][]byte, len(events))
	for i, ev := range events {
		if raw[i], err = ledgerevent.Encode(ev); err != nil {
			return fail(fmt.Errorf("the key changed but the ledger event does not encode: %w", err))
		}
	}
	idx, err := lg.AppendAll(context.Background(), raw)
	if err != nil {
		return fail(fmt.Errorf("the key changed but the ledger event failed: %w", err))
	}
	fmt.Fprintf(e.stdout, "recorded in the ledger at index %d; restart the server to use it\n", idx)
	return exitOK
}

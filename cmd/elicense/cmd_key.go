package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"time"

	"elicense/internal/ledger"
	"elicense/issuer/service"
	"elicense/issuer/state"
	"elicense/issuer/status"
)

func init() {
	register(&command{
		name:    "key",
		summary: "rotate an agency's signing key, or declare a key compromised",
		usage: `
Usage: elicense key rotate --agency CODE [--compromised-since TIME]
                           [--server URL] [--token-file FILE]
       elicense key compromise --agency CODE --key KEYID --since TIME
                           [--server URL] [--token-file FILE]
       elicense key rotate|compromise ... --offline [--data DIR] [--passphrase-file FILE]

rotate gives the agency a new SM2 key certified by the root with the same
classes, destroys the old private key and keeps its certificate: retired
(what it signed before the rotation stays valid; a QR claiming a later
signing time is refused, KEY_RETIRED) or, with --compromised-since,
compromised. compromise declares a key compromised since TIME: a previous
key, or the active one, which is then rotated out first. A key already
compromised may be declared so again only from an earlier time (which
tightens its genuine set), never a later one.

A thief holding a key can backdate what he signs, so a compromise does not
go by signing times: the issuer builds the key's genuine set, every QR core
it signed with the key before TIME (issuances, re-issues and the device
copies made at claim), from its records, and counters accept those and
refuse every other QR of the key (KEY_COMPROMISED). The set is kept in the
PKI directory, its SM3 goes into the ledger event, and the trust bundle
names it; counters fetch it once on sync.

Both ask the running server (POST /v1/agencies/CODE/keys/rotate and
/v1/agencies/CODE/keys/KEYID/compromise) with an admin token (--token-file,
else ELICENSE_TOKEN). The server keeps running and changes at once: new
licences are signed with the new key, the next trust bundle lists the keys
with their states, and the ledger records key-rotate or key-compromise.

--offline is for a server that is down (a key found stolen while it cannot
start, say): the command then opens DIR itself, which a running server
holds, and applies the same checks and changes the server would; the
passphrase comes from --passphrase-file, ELICENSE_PASSPHRASE_FILE,
ELICENSE_PASSPHRASE or DIR/passphrase.

TIME is RFC 3339, e.g. 2026-11-20T09:00:00+08:00, taken to the whole
second; it must not be in the future.

Examples:
  elicense key rotate --token-file admin.token --agency 11310000PDY100010H
  elicense key rotate --token-file admin.token --agency 11310000PDY100010H --compromised-since 2026-11-20T09:00:00+08:00
  elicense key compromise --token-file admin.token --agency 11310000PDY100010H --key 3f2a9c0d11e4b7a5 --since 2026-11-01T00:00:00Z
  elicense key compromise --offline --data /srv/elicense --agency 11310000PDY100010H --key 3f2a9c0d11e4b7a5 --since 2026-11-01T00:00:00Z
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("agency", "", "agency `code`")
			fs.String("key", "", "compromise: the key `ID`")
			fs.String("since", "", "compromise: compromised since `time`")
			fs.String("compromised-since", "", "rotate: rotate out as compromised since `time`")
			fs.String("server", "http://"+defaultAddr, "server base `URL`")
			fs.String("token-file", "", "read the admin token from `file`")
			fs.Bool("offline", false, "change the data directory of a stopped server instead")
			fs.String("data", defaultData, "--offline: the server's data `directory`")
			fs.String("passphrase-file", "", "--offline: read the key passphrase from `file`")
		},
		run: runKey,
	})
}

// keyRequest is one key command: what to change, and how (online or
// offline).
type keyRequest struct {
	sub, agency, kid string
	since            time.Time // compromise --since, or rotate --compromised-since
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
	r := keyRequest{sub: sub, agency: get("agency"), kid: get("key")}
	if r.agency == "" {
		return usageError(e, "key", "--agency is required")
	}
	timeFlag := "compromised-since"
	switch sub {
	case "rotate":
		if r.kid != "" || get("since") != "" {
			return usageError(e, "key", "rotate takes --compromised-since, not --key or --since")
		}
	case "compromise":
		timeFlag = "since"
		if r.kid == "" || get("since") == "" {
			return usageError(e, "key", "compromise needs --key and --since")
		}
		if get("compromised-since") != "" {
			return usageError(e, "key", "compromise takes --since, not --compromised-since")
		}
	default:
		return usageError(e, "key", "unknown subcommand %q (want rotate or compromise)", sub)
	}
	if v := get(timeFlag); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return usageError(e, "key", "--%s: %v", timeFlag, err)
		}
		r.since = t
	}
	var ch *service.KeyChange
	var err error
	if get("offline") == "true" {
		ch, err = r.offline(e, dataDir(get("data")), get("passphrase-file"))
	} else {
		ch, err = r.online(e, get("server"), get("token-file"))
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense key %s: %v\n", sub, err)
		return exitFail
	}
	if g := ch.Old.Genuine; g != nil {
		fmt.Fprintf(e.stdout, "genuine set of key %s: %d QR cores signed before %s, SM3 %s\n", ch.Old.KID, g.Count, ch.Old.Since.UTC().Format(time.RFC3339), g.SM3)
	}
	if ch.New != nil {
		fmt.Fprintf(e.stdout, "agency %s: new key %s; old key %s %s since %s\n", ch.Agency, ch.New.KID, ch.Old.KID, ch.Old.State, ch.Old.Since.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(e.stdout, "agency %s: key %s compromised since %s\n", ch.Agency, ch.Old.KID, ch.Old.Since.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(e.stdout, "recorded in the ledger at index %d\n", ch.LedgerIndex)
	return exitOK
}

// online asks the running server.
func (r keyRequest) online(e *env, server, tokenFile string) (*service.KeyChange, error) {
	token, err := operatorToken(e, tokenFile)
	if err != nil {
		return nil, err
	}
	c := newAPIClient(server, token)
	var ch service.KeyChange
	path := "/v1/agencies/" + url.PathEscape(r.agency) + "/keys/"
	switch r.sub {
	case "rotate":
		var body map[string]string
		if !r.since.IsZero() {
			body = map[string]string{"compromised_since": r.since.Format(time.RFC3339)}
		}
		err = c.call(context.Background(), "POST", path+"rotate", body, &ch)
	default:
		err = c.call(context.Background(), "POST", path+url.PathEscape(r.kid)+"/compromise", map[string]string{"since": r.since.Format(time.RFC3339)}, &ch)
	}
	return &ch, err
}

// offline opens the data directory of a stopped server and makes the
// change through the same service code the server runs.
func (r keyRequest) offline(e *env, d dataDir, passFile string) (ch *service.KeyChange, err error) {
	p, pw, err := loadPKI(e, d, passFile)
	if err != nil {
		return nil, err
	}
	data, err := openData(d, "", ledger.Options{Origin: ledgerOrigin(p.Manifest.Root.KeyID), Signer: p.Ledger.Signer})
	if err != nil {
		return nil, fmt.Errorf("%w (a running server holds it: drop --offline)", err)
	}
	defer func() { err = errors.Join(err, data.Close()) }()
	codes := make([]string, len(p.Agencies))
	for i, a := range p.Agencies {
		codes[i] = a.Code
	}
	sm := status.New(status.Options{Signer: p.Ledger.Signer, KeyID: p.Ledger.KeyID, Agencies: codes})
	audit, err := auditKey(e, d, pw, data.Ledger.Size() == 0)
	if err != nil {
		return nil, err
	}
	svc, err := service.New(service.Options{PKI: p, Store: data.Store, Ledger: data.Ledger, Status: statusOnly{sm}, Audit: audit, Passphrase: pw})
	if err != nil {
		return nil, err
	}
	if err := svc.Recover(context.Background()); err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, svc.Close()) }()
	op := service.Operator{Subject: "elicense key " + r.sub + " --offline", Role: service.RoleAdmin}
	if r.sub == "rotate" {
		return svc.RotateKey(context.Background(), op, r.agency, service.RotateRequest{CompromisedSince: r.since})
	}
	return svc.CompromiseKey(context.Background(), op, r.agency, r.kid, r.since)
}

// statusOnly hides the status manager's snapshots from an offline
// service, which allocates nothing: it rebuilds the lists from the
// records and leaves the server's snapshot as it was.
type statusOnly struct{ m *status.Manager }

func (s statusOnly) Allocate(agency string) (string, uint64, error) { return s.m.Allocate(agency) }
func (s statusOnly) Set(list string, i uint64, st state.Status) error {
	return s.m.Set(list, i, st)
}
func (s statusOnly) Release(list string, i uint64) { s.m.Release(list, i) }
func (s statusOnly) URI(list string) string        { return s.m.URI(list) }

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"elicense/certs/trust"
	"elicense/internal/ledger"
	"elicense/issuer/pki"
	"elicense/issuer/publish"
	"elicense/issuer/service"
	"elicense/issuer/state"
	"elicense/issuer/static"
	"elicense/issuer/status"
)

func init() {
	register(&command{
		name:    "publish",
		summary: "write the trust bundle, status lists and ledger tiles to a directory for a static web server",
		usage: `
Usage: elicense publish --to DIR [--data DIR] [--store DSN] [--public-url URL]
                        [--passphrase-file FILE] [--config FILE]

Brings DIR up to date with everything a counter syncs: the signed trust
bundle (DIR/v1/trust), each status list (DIR/v1/status/<id>) with signed
deltas from its recently published versions (DIR/v1/status-delta/<id>/<v>),
the ledger as C2SP tlog-tiles with SM3 (DIR/v1/ledger/tile/...) and its
signed checkpoint (DIR/v1/ledger/checkpoint), written last. Any web server
or CDN serving DIR, or DIR itself, is then a sync source:
  elicense-verify sync --from https://cdn.example.gov.cn/elicense
  elicense-verify sync --from file://DIR
Only what changed is written, each file atomically; run it as often as
counters should see changes (or let "elicense serve --publish-dir DIR" keep
DIR current). docs/formats.md has the layout, docs/deployment.md the set-up.

--public-url must be the one the server runs with: it is in every licence's
status-list reference. --data, --store, --public-url, --passphrase-file and
the config file are read as "elicense serve" reads them (ELICENSE_DATA,
ELICENSE_STORE, ELICENSE_PUBLIC_URL, ELICENSE_PASSPHRASE_FILE or
ELICENSE_PASSPHRASE; config keys data, store, public_url, passphrase_file).

The embedded store (DIR/ledger.db) is locked by a running server: publish
from that server instead (elicense serve --publish-dir), or stop it first.

Examples:
  elicense publish --to /srv/www/elicense --data /srv/elicense --public-url https://licences.example.gov.cn
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("to", "", "the `directory` to write")
			fs.String("data", defaultData, "data `directory`")
			fs.String("store", "", storeHelp)
			fs.String("public-url", "", "base `URL` the server runs with (required)")
			fs.String("passphrase-file", "", "read the key passphrase from `file`")
			fs.String("config", "", "optional JSON config `file`")
		},
		run: runPublish,
	})
}

func runPublish(e *env, fs *flag.FlagSet) int {
	if fs.NArg() != 0 {
		return usageError(e, "publish", "unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(fs.Lookup("config").Value.String())
	if err != nil {
		return usageError(e, "publish", "%v", err)
	}
	get := func(name string) string { return setting(e, fs, cfg, name) }
	to := fs.Lookup("to").Value.String()
	if to == "" {
		return usageError(e, "publish", "--to DIR is required")
	}
	publicURL := strings.TrimSuffix(get("public-url"), "/")
	if publicURL == "" {
		return usageError(e, "publish", "--public-url is required: the URL the server runs with (licences name their status lists under it)")
	}
	if _, err := storeKind(get("store")); err != nil {
		return usageError(e, "publish", "%v", err)
	}
	d := dataDir(get("data"))
	iss, err := openIssuer(e, d, get("store"), get("passphrase-file"), publicURL, slog.New(slog.DiscardHandler))
	if errors.Is(err, ledger.ErrLocked) {
		fmt.Fprintf(e.stderr, "elicense publish: %s is in use by a running server (the embedded store is locked while it runs): start it with --publish-dir %s to keep the directory current, or stop it first\n", d.ledger(), to)
		return exitFail
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense publish: %v\n", err)
		return exitFail
	}
	defer iss.close()
	w, err := iss.writer(to, nil)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense publish: %v\n", err)
		return exitFail
	}
	start := time.Now()
	rep, err := w.Publish(context.Background())
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense publish: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "OK published to %s: ledger size %d (was %d), %d tiles, %d status lists, %d deltas, %d files pruned; %d bytes in %v\n",
		to, rep.Size, rep.PreviousSize, rep.Tiles, rep.Lists, rep.Deltas, rep.Pruned, rep.Bytes, time.Since(start).Round(time.Millisecond))
	return exitOK
}

// issuer is what a publication reads, opened without a server.
type issuer struct {
	pki  *pki.PKI
	data *service.Data
	svc  *service.Service
	sm   *status.Manager
	pub  *publish.Publisher
}

// openIssuer opens the data directory's PKI (it makes none) and store,
// and rebuilds the status lists from it, as serve does at start.
func openIssuer(e *env, d dataDir, store, passFile, publicURL string, log *slog.Logger) (*issuer, error) {
	p, pw, err := loadPKI(e, d, passFile)
	if err != nil {
		return nil, err
	}
	data, err := openData(d, store, ledger.Options{Origin: ledgerOrigin(p.Manifest.Root.KeyID), Signer: p.Ledger.Signer, Logger: log})
	if err != nil {
		return nil, err
	}
	audit, err := auditKey(e, d, pw, data.Ledger.Size() == 0)
	if err != nil {
		data.Close()
		return nil, fmt.Errorf("ledger audit key: %w", err)
	}
	sm := newStatusManager(p, publicURL)
	svc, err := service.New(service.Options{PKI: p, Store: data.Store, Ledger: data.Ledger, Status: sm, Audit: audit, Logger: log, Passphrase: pw})
	if err == nil {
		err = svc.Recover(context.Background())
	}
	if err != nil {
		data.Close()
		return nil, err
	}
	return &issuer{pki: p, data: data, svc: svc, sm: sm, pub: newPublisher(svc, sm, data.Ledger, data.Store)}, nil
}

func (i *issuer) close() error { return errors.Join(i.svc.Close(), i.data.Close()) }

func (i *issuer) writer(dir string, log *slog.Logger) (*static.Writer, error) {
	return newStaticWriter(dir, i.pki, i.data.Ledger, i.sm, i.pub, log)
}

// newStatusManager is the status manager serve makes.
func newStatusManager(p *pki.PKI, publicURL string) *status.Manager {
	codes := make([]string, len(p.Agencies))
	for i, a := range p.Agencies {
		codes[i] = a.Code
	}
	return status.New(status.Options{BaseURL: publicURL, Signer: p.Ledger.Signer, KeyID: p.Ledger.KeyID, Agencies: codes})
}

// newPublisher is the trust-bundle publisher serve makes.
func newPublisher(svc *service.Service, sm *status.Manager, lg *ledger.Log[state.Tx], st state.Store) *publish.Publisher {
	return publish.New(publish.Options{Current: svc.PKI, Status: sm, Ledger: lg, RevokedSeals: revokedSeals(st)})
}

// newStaticWriter is the writer of a static publication in dir.
func newStaticWriter(dir string, p *pki.PKI, lg *ledger.Log[state.Tx], sm *status.Manager, pub *publish.Publisher, log *slog.Logger) (*static.Writer, error) {
	return static.New(static.Options{Dir: dir, Ledger: lg.Store(), Checkpoint: lg.Checkpoint, Status: sm, Publisher: pub,
		Signer: p.Ledger.Signer, KeyID: p.Ledger.KeyID, Logger: log})
}

// startPublishing keeps dir current from a running server (serve
// --publish-dir) until the returned function is called.
func startPublishing(dir string, p *pki.PKI, lg *ledger.Log[state.Tx], sm *status.Manager, pub *publish.Publisher, log *slog.Logger) (stop func(), err error) {
	w, err := newStaticWriter(dir, p, lg, sm, pub, log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, static.RunOptions{Publishes: lg.Leads, OnError: func(err error) { log.Error("static publication failed; retrying", "dir", dir, "err", err) }})
	}()
	log.Info("keeping a static publication current", "dir", dir)
	return func() { cancel(); <-done }, nil
}

// revokedSeals lists the revoked electronic seals for the trust bundle.
func revokedSeals(st state.Store) func() ([]trust.RevokedSeal, error) {
	return func() ([]trust.RevokedSeal, error) {
		seals, err := st.RevokedSeals()
		out := make([]trust.RevokedSeal, len(seals))
		for i, r := range seals {
			out[i] = trust.RevokedSeal{ESID: r.ESID, Since: r.RevokedAt.UTC().Truncate(time.Second), Reason: r.Reason}
		}
		return out, err
	}
}

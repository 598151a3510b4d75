package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"elicense/internal/atomicfile"
	"elicense/internal/ledger"
	"elicense/issuer/archive"
	"elicense/issuer/service"
	"elicense/issuer/status"
)

func init() {
	register(&command{
		name:    "archive",
		summary: "export an agency's archive package (电子档案) of a period",
		usage: `Usage: elicense archive --offline --agency CODE --from D1 --to D2 --out PKG [--data DIR]

Writes the archive package of every licence version the agency issued or
changed in [D1, D2): each version's sealed OFD file, credential, GB/T 36903
metadata and ledger entries with inclusion proofs against one signed
checkpoint, the trust data to check them, and a manifest of SM3 values
signed by the agency (docs/formats.md, Archive package). The same period
exported twice gives the same bytes. The export is recorded in the ledger
(archive-exported). Check a package with 'elicense-verify archive PKG'.

Dates are YYYY-MM-DD (midnight, China time) or RFC 3339. This version
exports from the data directory of a stopped server (--offline).

Examples:
  elicense archive --offline --data /srv/elicense --agency 11310000PDY100010H --from 2026-01-01 --to 2026-02-01 --out 2026-01.zip
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("agency", "", "agency `code`")
			fs.String("from", "", "period start `date` (inclusive)")
			fs.String("to", "", "period end `date` (exclusive)")
			fs.String("out", "", "write the package to `file`")
			fs.Bool("offline", false, "export from the data directory of a stopped server")
			fs.String("data", defaultData, "--offline: the server's data `directory`")
			fs.String("passphrase-file", "", "--offline: read the key passphrase from `file`")
		},
		run: runArchive,
	})
}

func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation(time.DateOnly, s, time.FixedZone("CST", 8*3600))
}

func runArchive(e *env, fs *flag.FlagSet) int {
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	if fs.NArg() != 0 {
		return usageError(e, "archive", "unexpected argument %q", fs.Arg(0))
	}
	from, err1 := parseDay(get("from"))
	to, err2 := parseDay(get("to"))
	switch {
	case get("agency") == "" || get("out") == "":
		return usageError(e, "archive", "--agency and --out are required")
	case err1 != nil || err2 != nil:
		return usageError(e, "archive", "--from and --to are dates: %v", errors.Join(err1, err2))
	case get("offline") != "true":
		return usageError(e, "archive", "this version exports with --offline (stop the server first)")
	}
	res, err := archiveOffline(e, dataDir(get("data")), get("passphrase-file"), archive.Options{Agency: get("agency"), From: from, To: to}, get("out"))
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense archive: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "%s: %d licence versions, checkpoint %d, manifest SM3 %x\n", get("out"), res.Count, res.CheckpointSize, res.Manifest)
	return exitOK
}

// archiveOffline opens a stopped server's data, writes the package and
// records the export, through the service code the server runs.
func archiveOffline(e *env, d dataDir, passFile string, o archive.Options, out string) (res *archive.Result, err error) {
	p, pw, err := loadPKI(e, d, passFile)
	if err != nil {
		return nil, err
	}
	data, err := openData(d, "", ledger.Options{Origin: ledgerOrigin(p.Manifest.Root.KeyID), Signer: p.Ledger.Signer})
	if err != nil {
		return nil, fmt.Errorf("%w (a running server holds it)", err)
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
	return exportAndRecord(context.Background(), svc, data, o, out, service.Operator{Subject: "elicense archive --offline", Role: service.RoleAdmin})
}

func exportAndRecord(ctx context.Context, svc *service.Service, data *service.Data, o archive.Options, out string, op service.Operator) (*archive.Result, error) {
	src := archive.Source{Ledger: data.Ledger, Entries: data.Ledger.Store(), Records: data.Store, Files: svc, PKI: svc.PKI()}
	// Streamed to a temporary file beside out, renamed once complete.
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	res, err := archive.Export(ctx, bw, src, o)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, err
	}
	if err := atomicfile.SyncDir(filepath.Dir(out)); err != nil {
		return nil, err
	}
	if _, err := svc.RecordArchiveExport(ctx, op, service.ArchiveExport{Agency: o.Agency, From: o.From, To: o.To, Count: uint64(res.Count), Manifest: res.Manifest}); err != nil {
		return nil, fmt.Errorf("the package is written, but recording the export failed: %w", err)
	}
	return res, nil
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"elicense/internal/atomicfile"
	"elicense/internal/ledger"
	"elicense/issuer/api"
	"elicense/issuer/archive"
	"elicense/issuer/service"
	"elicense/issuer/status"
)

func init() {
	register(&command{
		name:    "archive",
		summary: "export an agency's archive package (电子档案) of a period",
		usage: `Usage: elicense archive --agency CODE --from D1 --to D2 --out PKG [--server URL] [--token-file FILE]
       elicense archive --offline --agency CODE --from D1 --to D2 --out PKG [--data DIR]

Writes the archive package of every licence version the agency issued or
changed in [D1, D2): each version's sealed OFD file, credential, GB/T 36903
metadata and ledger entries with inclusion proofs against one signed
checkpoint, the trust data to check them, and a manifest of SM3 values
signed by the agency (docs/formats.md, Archive package). The same period
exported twice gives the same bytes. The export is recorded in the ledger
(archive-exported). Check a package with 'elicense-verify archive PKG'.

Dates are YYYY-MM-DD (midnight, China time) or RFC 3339. The running
server exports (POST /v1/archives) with an admin token (--token-file, or
ELICENSE_TOKEN); --offline exports from the data directory of a stopped
server through the same service code.

Examples:
  elicense archive --token-file admin.token --agency 11310000PDY100010H --from 2026-01-01 --to 2026-02-01 --out 2026-01.zip
  elicense archive --offline --data /srv/elicense --agency 11310000PDY100010H --from 2026-01-01 --to 2026-02-01 --out 2026-01.zip
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("agency", "", "agency `code`")
			fs.String("from", "", "period start `date` (inclusive)")
			fs.String("to", "", "period end `date` (exclusive)")
			fs.String("out", "", "write the package to `file`")
			fs.String("server", "http://"+defaultAddr, "server base `URL`")
			fs.String("token-file", "", "read the admin token from `file`")
			fs.Bool("offline", false, "export from the data directory of a stopped server")
			fs.String("data", defaultData, "--offline: the server's data `directory`")
			fs.String("passphrase-file", "", "--offline: read the key passphrase from `file`")
		},
		run: runArchive,
	})
}

func parseDay(s string) (time.Time, error) { return api.ParseArchiveDate(s) }

// archiveOnline asks the running server, streaming its answer to out.
func archiveOnline(e *env, server, tokenFile string, o archive.Options, out string) (*archive.Result, error) {
	token, err := operatorToken(e, tokenFile)
	if err != nil {
		return nil, err
	}
	c := newAPIClient(server, token)
	body, _ := json.Marshal(map[string]string{"agency": o.Agency, "from": o.From.Format(time.RFC3339Nano), "to": o.To.Format(time.RFC3339Nano)})
	req, err := http.NewRequest("POST", c.server+"/v1/archives", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := (&http.Client{}).Do(req) // no timeout: a large package takes long
	if err != nil {
		return nil, fmt.Errorf("%w (is the server running at %s?)", err, c.server)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		ae := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, ae) != nil || ae.Code == "" {
			ae.Code, ae.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(data))
		}
		return nil, ae
	}
	return writeAtomically(out, func(w io.Writer) (*archive.Result, error) {
		if _, err := io.Copy(w, resp.Body); err != nil {
			return nil, err
		}
		// Trailers are read once the body is.
		res := &archive.Result{}
		m, err := hex.DecodeString(resp.Trailer.Get("X-Archive-Manifest-Sm3"))
		if err != nil || len(m) != len(res.Manifest) {
			return nil, fmt.Errorf("the server's answer ended without its manifest digest: the export failed midway")
		}
		copy(res.Manifest[:], m)
		res.Count, _ = strconv.Atoi(resp.Trailer.Get("X-Archive-Count"))
		return res, nil
	})
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
	}
	o := archive.Options{Agency: get("agency"), From: from, To: to}
	var res *archive.Result
	var err error
	if get("offline") == "true" {
		res, err = archiveOffline(e, dataDir(get("data")), get("passphrase-file"), o, get("out"))
	} else {
		res, err = archiveOnline(e, get("server"), get("token-file"), o, get("out"))
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense archive: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "%s: %d licence versions, manifest SM3 %x (recorded in the ledger)\n", get("out"), res.Count, res.Manifest)
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
	return exportAndRecord(context.Background(), svc, o, out, service.Operator{Subject: "elicense archive --offline", Role: service.RoleAdmin})
}

// exportAndRecord writes the package to out through svc (which records
// the export).
func exportAndRecord(ctx context.Context, svc *service.Service, o archive.Options, out string, op service.Operator) (*archive.Result, error) {
	return writeAtomically(out, func(w io.Writer) (*archive.Result, error) { return svc.ExportArchive(ctx, op, w, o) })
}

// writeAtomically streams write's output to a temporary file beside out
// and renames it to out once complete.
func writeAtomically(out string, write func(io.Writer) (*archive.Result, error)) (*archive.Result, error) {
	// Streamed to a temporary file beside out, renamed once complete.
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	res, err := write(bw)
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
	return res, nil
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// maxOFD bounds the file read from the server: far above a licence file
// (docs/formats.md §5 has their sizes), far below what would hurt.
const maxOFD = 64 << 20

func init() {
	register(&command{
		name:    "ofd",
		summary: "download a licence as a sealed OFD file (GB/T 36905)",
		usage: `
Usage: elicense ofd [--server URL] [--token-file FILE] --out FILE LICENCE-ID

Fetches the licence as an OFD document (GB/T 33190) from the server and
writes it to FILE: the licence face (its printed fields, the static QR),
its GB/T 36903 metadata, and the issuing agency's electronic seal (GB/T
38540) over every file of it, signed when the server makes it. Any OFD
reader opens and checks it; so does "elicense-verify ofd FILE". The token
comes from --token-file or ELICENSE_TOKEN: an operator of the licence's
agency and class or an admin (making the file applies the seal), or an
auditor of the agency, who reads what it issued. Only a valid licence is
sealed (a suspended, revoked or superseded one is 409). LICENCE-ID is the
licence's own identifier: a holder's copy (ID#tag) has no file of its own.

Examples:
  elicense ofd --token-file clerk.token --out licence.ofd 1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20261125ABCD1234.001.7
  ELICENSE_TOKEN=$(cat admin.token) elicense ofd --server https://issuer.example --out 营业执照.ofd ID
  elicense-verify ofd licence.ofd
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("server", "http://"+defaultAddr, "server base `URL`")
			fs.String("token-file", "", "read the operator, auditor or admin token from `file`")
			fs.String("out", "", "output `file` (required)")
		},
		run: runOFD,
	})
}

func runOFD(e *env, fs *flag.FlagSet) int {
	if fs.NArg() < 1 {
		return usageError(e, "ofd", "name the licence identifier")
	}
	id := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return usageError(e, "ofd", "%v", err)
	}
	if fs.NArg() > 0 {
		return usageError(e, "ofd", "one licence identifier, then flags; got also %q", fs.Arg(0))
	}
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	out := get("out")
	if out == "" {
		return usageError(e, "ofd", "--out is required")
	}
	token, err := operatorToken(e, get("token-file"))
	if err != nil {
		return usageError(e, "ofd", "%v", err)
	}
	u := fmt.Sprintf("%s/v1/licences/%s/ofd", strings.TrimSuffix(get("server"), "/"), url.PathEscape(id))
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return usageError(e, "ofd", "%v", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense ofd: %v\n", err)
		return exitFail
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxOFD+1))
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense ofd: reading the answer: %v\n", err)
		return exitFail
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stderr, "elicense ofd: server answered %d: %.2000s\n", resp.StatusCode, data)
		return exitFail
	}
	if len(data) > maxOFD {
		fmt.Fprintf(e.stderr, "elicense ofd: the answer is over %d bytes\n", maxOFD)
		return exitFail
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/ofd" {
		fmt.Fprintf(e.stderr, "elicense ofd: the server sent %q, not an OFD file\n", ct)
		return exitFail
	}
	if err := writePrivate(out, data); err != nil {
		fmt.Fprintf(e.stderr, "elicense ofd: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d bytes)\n", out, len(data))
	return exitOK
}

// writePrivate writes a file of personal data readable by its owner only,
// also when it replaces one that was not.
func writePrivate(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = f.Chmod(0o600)
	if _, werr := f.Write(data); err == nil {
		err = werr
	}
	return errors.Join(err, f.Close())
}

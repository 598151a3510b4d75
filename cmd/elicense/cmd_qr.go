package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func init() {
	register(&command{
		name:    "qr",
		summary: "render a licence's static QR (for paper) as PNG or SVG",
		usage: `
Usage: elicense qr [--server URL] [--token-file FILE] [--format png|svg]
                   [--scale N] --out FILE LICENCE-ID

Fetches the licence's static (unbound) QR from the server and writes it to
FILE: PNG at N pixels per module (whole pixels keep large codes scannable)
or SVG. The static QR verifies offline at any counter, which then asks to
see the holder's identity document. The token comes from --token-file or
ELICENSE_TOKEN.

Examples:
  elicense qr --token-file clerk.token --out licence.png 1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20261125ABCD1234.001.7
  elicense qr --format svg --out licence.svg ID
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("server", "http://"+defaultAddr, "server base `URL`")
			fs.String("token-file", "", "read the operator token from `file`")
			fs.String("format", "png", "png or svg")
			fs.Int("scale", 8, "PNG pixels per module (1..20)")
			fs.String("out", "", "output `file` (required)")
		},
		run: runQR,
	})
}

func runQR(e *env, fs *flag.FlagSet) int {
	if fs.NArg() < 1 {
		return usageError(e, "qr", "name the licence identifier")
	}
	id := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return usageError(e, "qr", "%v", err)
	}
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	out := get("out")
	if out == "" {
		return usageError(e, "qr", "--out is required")
	}
	token, err := operatorToken(e, get("token-file"))
	if err != nil {
		return usageError(e, "qr", "%v", err)
	}
	u := fmt.Sprintf("%s/v1/licences/%s/qr?format=%s&scale=%s", strings.TrimSuffix(get("server"), "/"),
		url.PathEscape(id), url.QueryEscape(get("format")), url.QueryEscape(get("scale")))
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense qr: %v\n", err)
		return exitFail
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(e.stderr, "elicense qr: server answered %d: %s\n", resp.StatusCode, data)
		return exitFail
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		fmt.Fprintf(e.stderr, "elicense qr: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d bytes)\n", out, len(data))
	return exitOK
}

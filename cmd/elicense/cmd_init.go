package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"elicense/internal/gm"
	"elicense/issuer/pki"
)

// passphraseEnv is the environment variable holding the key passphrase.
const passphraseEnv = "ELICENSE_PASSPHRASE"

func init() {
	register(&command{
		name:    "init",
		summary: "create a development PKI (root, agency and ledger certificates)",
		usage: `
Usage: elicense init --dir DIR [--passphrase-file FILE] [--agencies FILE]
       elicense init --print-agencies

Creates a development PKI in DIR, which must not exist or be empty:

  root.crt.pem, root.key.pem          self-signed SM2 root CA (the trust anchor)
  agencies/<code>.crt.pem, .key.pem   one issuing certificate per agency, with
                                      the licence classes it may issue
  ledger.crt.pem, ledger.key.pem      ledger, status list and trust bundle signer
  pki.json                            manifest: agencies, classes, files, key IDs

Private keys are encrypted PKCS#8 (SM4) under one passphrase, taken from
--passphrase-file, else from the environment variable ELICENSE_PASSPHRASE.
With neither, a random passphrase is generated and written to DIR/passphrase
(mode 0600); keep that file safe and point later commands at it. Passphrases
are never taken from flags. If DIR already holds a PKI nothing is changed and
the exit status is 1.

The agencies are the built-in development set (nine Shanghai agencies covering
all 17 licence classes, with development codes) unless --agencies names a JSON
file: an array of {"code": 统一社会信用代码, "name": ..., "classes": [class
keys, type codes or Chinese names]}. --print-agencies prints the built-in set
in that format, as a starting point.

Examples:
  elicense init --dir ./pki
  elicense init --dir /srv/elicense/pki --passphrase-file /run/secrets/elicense-pass
  ELICENSE_PASSPHRASE="$(cat pass.txt)" elicense init --dir ./pki --agencies agencies.json
  elicense init --print-agencies > agencies.json
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("dir", "", "the PKI `directory` to create (required)")
			fs.String("passphrase-file", "", "read the key passphrase from the first line of `file`")
			fs.String("agencies", "", "JSON `file` listing the agencies to certify (default: the built-in dev set)")
			fs.Bool("print-agencies", false, "print the built-in agency set as JSON and exit")
		},
		run: runInit,
	})
}

func runInit(e *env, fs *flag.FlagSet) int {
	get := func(name string) string { return fs.Lookup(name).Value.String() }
	if fs.NArg() > 0 {
		return usageError(e, "init", "unexpected argument %q", fs.Arg(0))
	}
	if get("print-agencies") == "true" {
		b, err := json.MarshalIndent(pki.DefaultAgencies(), "", "  ")
		if err != nil {
			fmt.Fprintf(e.stderr, "elicense init: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
		return exitOK
	}
	dir := get("dir")
	if dir == "" {
		return usageError(e, "init", "--dir is required")
	}
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "elicense init: %v\n", err)
		return exitFail
	}

	agencies := pki.DefaultAgencies()
	if f := get("agencies"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fail(err)
		}
		if agencies, err = pki.ParseAgencyConfigs(b); err != nil {
			return fail(fmt.Errorf("%s: %w", f, err))
		}
	}

	opts := pki.InitOptions{Dir: dir, Agencies: agencies}
	switch f := get("passphrase-file"); {
	case f != "":
		pw, err := gm.PassphraseSource{File: f}.Read()
		if err != nil {
			return fail(err)
		}
		opts.Passphrase = pw
	default:
		if v, ok := e.lookupEnv(passphraseEnv); ok {
			if v == "" {
				return fail(fmt.Errorf("%s is set but empty; unset it to have a passphrase generated", passphraseEnv))
			}
			opts.Passphrase = []byte(v)
			break
		}
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return fail(err)
		}
		opts.Passphrase = []byte(base64.StdEncoding.EncodeToString(raw))
		opts.WritePassphraseFile = true
	}

	res, err := pki.Init(opts)
	if err != nil {
		if errors.Is(err, pki.ErrExists) || errors.Is(err, pki.ErrNotEmpty) {
			return fail(fmt.Errorf("%w\n(nothing was changed)", err))
		}
		return fail(err)
	}
	if res.PassphraseFile != "" {
		fmt.Fprintf(e.stderr, "elicense init: no --passphrase-file and %s unset: generated a random passphrase\n"+
			"and wrote it to %s (mode 0600). Keep it secret; later commands read it with\n"+
			"--passphrase-file %s\n", passphraseEnv, res.PassphraseFile, res.PassphraseFile)
	}
	printSummary(e, res)
	return exitOK
}

func printSummary(e *env, res *pki.Result) {
	w := e.stdout
	m := res.Manifest
	fmt.Fprintf(w, "Created a development PKI in %s\n\n", res.Dir)
	cert := func(label string, c pki.CertEntry) {
		fmt.Fprintf(w, "  %-7s key ID %s  valid until %s  %s\n", label, c.KeyID, c.NotAfter.Format("2006-01-02"), c.Subject)
		fmt.Fprintf(w, "          %s, %s\n", c.Cert, c.Key)
	}
	cert("root", m.Root)
	cert("ledger", m.Ledger)
	fmt.Fprintf(w, "\nAgencies (%d):\n", len(m.Agencies))
	for _, a := range m.Agencies {
		fmt.Fprintf(w, "  %s  key ID %s  %s\n", a.Code, a.KeyID, a.Name)
		fmt.Fprintf(w, "      classes: %s\n", strings.Join(a.Classes, ", "))
		fmt.Fprintf(w, "      files:   %s, %s\n", a.Cert, a.Key)
	}
	fmt.Fprintf(w, "\nFiles (%d) in %s:\n", len(res.Files), res.Dir)
	for _, f := range res.Files {
		note := ""
		switch {
		case strings.HasSuffix(f, ".key.pem"):
			note = "  (encrypted private key, 0600)"
		case f == pki.PassphraseFile:
			note = "  (key passphrase, 0600)"
		}
		fmt.Fprintf(w, "  %s%s\n", filepath.FromSlash(f), note)
	}
}

package main

import (
	"flag"
	"fmt"

	"elicense/issuer/pki"
)

func init() {
	register(&command{
		name:    "receipt-key",
		summary: "give a PKI made before counter receipts its receipt key",
		usage: `
Usage: elicense receipt-key [--data DIR] [--passphrase-file FILE]

Makes the receipt key (pki/receipt.key.pem, encrypted like the other keys,
certified by the root with role receipt): the SM2 encryption key counters
seal their receipts to (docs/consent.md §9). A PKI made by this version has
one; serve makes it on start for an older one. Run this command instead
before starting replicas that share a read-only data directory. It refuses
a PKI that has one already.

The passphrase comes from --passphrase-file, ELICENSE_PASSPHRASE_FILE,
ELICENSE_PASSPHRASE or DIR/passphrase; the root key must be in the PKI.

Examples:
  elicense receipt-key
  elicense receipt-key --data /srv/elicense --passphrase-file /run/secrets/elicense
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("data", defaultData, "the server's data `directory`")
			fs.String("passphrase-file", "", "read the key passphrase from `file`")
		},
		run: func(e *env, fs *flag.FlagSet) int {
			d := dataDir(fs.Lookup("data").Value.String())
			p, pw, err := loadPKI(e, d, fs.Lookup("passphrase-file").Value.String())
			if err == nil {
				_, err = ensureReceiptKey(e, d, p, pw)
			}
			if err != nil {
				fmt.Fprintf(e.stderr, "elicense receipt-key: %v\n", err)
				return exitFail
			}
			return exitOK
		},
	})
}

// ensureReceiptKey gives p its receipt key when it has none, and returns
// p loaded again with it.
func ensureReceiptKey(e *env, d dataDir, p *pki.PKI, pw []byte) (*pki.PKI, error) {
	if p.Receipt != nil {
		return p, nil
	}
	if err := pki.AddReceiptKey(d.pki(), pw, nil); err != nil {
		return nil, fmt.Errorf("making the receipt key in %s (run 'elicense receipt-key --data %s' where the directory is writable): %w", d.pki(), string(d), err)
	}
	fmt.Fprintf(e.stderr, "elicense: made the counter receipt key %s/%s (mode 0600); back it up with the PKI\n", d.pki(), pki.ReceiptKeyFile)
	return pki.Load(d.pki(), pw)
}

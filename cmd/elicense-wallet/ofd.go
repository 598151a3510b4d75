package main

import (
	"context"
	"flag"
	"fmt"
	"os"
)

var ofdCommand = &command{name: "ofd", summary: "download a licence as its sealed OFD file (GB/T 36905) and keep it in the wallet", run: cmdOFD,
	usage: `
Usage: elicense-wallet ofd --out FILE LICENCE

Downloads the licence as an OFD document from the issuer it was claimed
from: the licence face (its printed fields and static QR), its GB/T 36903
metadata and the issuing agency's electronic seal over it (GB/T 38540).
It is what the holder prints, attaches or sends; any OFD reader opens and
checks it, as does "elicense-verify ofd FILE". The request is signed with
the wallet's device key, so only this wallet's copy can fetch it. The
issuer seals no file of a licence it holds as suspended, revoked or
superseded: the command says so and exits 1. The file is kept sealed in
the wallet beside the licence and written to --out (required).
` + licenceArg + commonFlags + `
Examples:
  elicense-wallet ofd --out 营业执照.ofd 1
  elicense-wallet ofd 1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20261125ABCD1234.001.7 --out licence.ofd
`,
	flags: func(fs *flag.FlagSet) {
		fs.String("out", "", "write the file to `FILE` (required)")
	}}

func cmdOFD(_ context.Context, e *env, fs *flag.FlagSet, pos []string) error {
	id, err := oneArg(pos, "licence ID")
	if err != nil {
		return err
	}
	out := flagString(fs, "out")
	if out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	w, err := e.open()
	if err != nil {
		return err
	}
	data, err := w.FetchOFD(id)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d bytes)\n", out, len(data))
	return nil
}

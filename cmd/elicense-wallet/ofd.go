package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	mobilesdk "elicense/mobile-sdk"
)

var ofdCommand = &command{name: "ofd", summary: "download a licence as its sealed OFD file (GB/T 36905) and keep it in the wallet", run: cmdOFD,
	usage: `
Usage: elicense-wallet ofd [--out FILE] ID

Downloads the licence as an OFD document from the issuer it was claimed
from: the licence face (its printed fields and static QR), its GB/T 36903
metadata and the issuing agency's electronic seal over it (GB/T 38540).
It is what the holder prints, attaches or sends; any OFD reader opens and
checks it, as does "elicense-verify ofd FILE". The request is signed with
the wallet's device key, so only this wallet's copy can fetch it; a
revoked, suspended or superseded licence has none. The file is kept
sealed in the wallet beside the licence and written to --out.

ID is the licence's ID in the wallet (licence#tag), or the licence ID
printed on it when the wallet holds one copy of it.
` + commonFlags + `
Examples:
  elicense-wallet ofd --out 营业执照.ofd ID
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
	if id, err = copyID(w, id); err != nil {
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

// copyID finds the wallet's licence named id: its own ID (licence#tag),
// or the printed licence ID when the wallet holds exactly one copy of it.
func copyID(w *mobilesdk.Wallet, id string) (string, error) {
	_, err := w.Get(id)
	if !errors.Is(err, mobilesdk.ErrNotFound) {
		return id, err
	}
	l, lerr := w.List()
	if lerr != nil {
		return "", lerr
	}
	var found []string
	for i := range l.Len() {
		if c := l.At(i); c.CopyOf == id {
			found = append(found, c.ID)
		}
	}
	switch len(found) {
	case 0:
		return "", err
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: the wallet holds %d copies of %s; name one: %v", errUsage, len(found), id, found)
}

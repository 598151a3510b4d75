// Command elicense-wallet is a holder's wallet on the command line, a thin
// layer over elicense/mobile-sdk for scripting and tests.
//
//	elicense-wallet claim   [--server URL] [--trust-root root.crt.pem] CODE
//	elicense-wallet list
//	elicense-wallet show    [--json | --credential] ID
//	elicense-wallet present [--disclose key,key] [--png out.png] [--ppm 4] [--terminal] [--watch] ID
//	elicense-wallet delete  ID
//
// Every command takes --dir (the wallet directory, default
// ~/.elicense-wallet) and --passphrase-file; without it the passphrase is
// read from ELICENSE_WALLET_PASSPHRASE. A passphrase is never a flag value,
// which other users could read from the process table. The first command
// run on a new directory creates the wallet and its device key.
//
// present prints the QR text (EL1:…) on stdout (--text asks for exactly
// that and nothing else); --watch prints a fresh one every 30 s, as a phone
// refreshes its screen. Exit status: 0 success, 1 failure, 2 usage error.
package main

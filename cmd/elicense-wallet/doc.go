// Command elicense-wallet is a holder's wallet on the command line, a thin
// layer over elicense/mobile-sdk for scripting and tests.
//
//	elicense-wallet claim   [--server URL] [--trust-root root.crt.pem] [--json] CODE
//	elicense-wallet list    [--json]
//	elicense-wallet show    [--json | --credential] LICENCE
//	elicense-wallet present [--disclose key,key] [--png out.png] [--ppm 4] [--terminal] [--watch] LICENCE
//	elicense-wallet refresh [--trust-root root.crt.pem] [LICENCE ...]
//	elicense-wallet delete  LICENCE
//	elicense-wallet ofd     --out FILE LICENCE
//	elicense-wallet consent [--licence LICENCE] [--fields key,key] [--refuse] [--yes] LINK
//	elicense-wallet grants  [--json] [LICENCE ...]
//	elicense-wallet grants  revoke [--licence LICENCE] GRANT
//	elicense-wallet uses    [--json] [LICENCE ...]
//
// Each command has its own help with examples (elicense-wallet CMD --help,
// or elicense-wallet help CMD), and flags may follow the arguments.
//
// LICENCE is what the holder sees: the licence's number in list (1, 2, …,
// in the order claimed), the licence identifier printed on it (证照标识), or
// the wallet's copy identifier (identifier#tag); mobile-sdk's
// Wallet.Resolve decides. claim prints the class name, holder, identifier
// and number of what it claimed (--json: the licence as JSON, for scripts).
//
// Every command takes --dir (the wallet directory, default
// ~/.elicense-wallet) and --passphrase-file; without it the passphrase is
// read from ELICENSE_WALLET_PASSPHRASE (read -rs ELICENSE_WALLET_PASSPHRASE
// && export ELICENSE_WALLET_PASSPHRASE). A passphrase is never a flag value,
// which other users could read from the process table; without one the
// command says how to give it (exit status 2). The first command run on a
// new directory creates the wallet and its device key.
//
// An error the wallet SDK reports is printed in the holder's words (what
// happened and what to do, mobilesdk.ErrorMessage, Chinese or English by
// the locale) with the technical detail on the next line.
//
// list and show print each licence's status (valid, revoked, suspended,
// superseded, or unknown before it was first read) and when it was last
// refreshed; refresh reads it again from the issuer's signed status lists
// (all licences without an ID). present refuses a revoked, suspended or
// superseded licence with the reason on stderr, in Chinese or, when the
// locale (LC_ALL, LC_MESSAGES, LANG) is en*, English, and exit status 3;
// an unknown or old status (past the class's max_status_staleness, 24 h
// for most classes) is presented with a warning saying how old it is.
//
// consent answers a registered online service's request for a licence's
// data (授权用证, docs/consent.md): it verifies and shows the request (who
// asks, the matter, each field with its purpose, how long, once or
// repeatedly), asks y/N on stdin unless --yes, and approves the requested
// fields (or --fields) or, with --refuse, refuses. grants lists a
// licence's grants and "grants revoke" ends one; uses lists the licence's
// uses (its claim, grants, fetches, revocations, counter verifications)
// with ✓ for each the wallet verified against the ledger, and exits 1
// when one did not verify.
//
// present prints the QR text (EL2:…) on stdout (--text asks for exactly
// that and nothing else); --watch prints a fresh one every 30 s, as a phone
// refreshes its screen. Exit status: 0 success, 1 failure, 2 usage error,
// 3 the licence cannot be presented.
package main

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"elicense/internal/gm"
	"elicense/verifier/store"
)

var cmdTrust = &command{
	name:    "trust",
	summary: "pin a root (trust add [--tsa]), list the pinned roots, or unpin a TSA root (trust remove --tsa)",
	usage: `
Usage: elicense-verify trust add [--tsa] [--fingerprint HEX] ROOT.pem
       elicense-verify trust list
       elicense-verify trust remove --tsa FINGERPRINT

trust add pins the root certificate(s) in ROOT.pem: everything the counter
accepts chains to a pinned root. It prints each root's SM3 fingerprint;
compare it with the one the issuer's administrator gives you out of band
(by phone, on paper), or pass it with --fingerprint to have it checked:
on a mismatch nothing is pinned. Only CA certificates are pinned.

trust add --tsa pins the root of a time-stamp authority (TSA) instead,
kept apart from the issuer's roots: it vouches only for the time a seal
signature's time-stamp says it existed. A seal revoked after a
time-stamp from a pinned TSA stays VALID for what it signed before (seal,
ofd and the counter page, which say "time-stamp …: trusted"). A time-stamp
whose authority does not chain to a pinned TSA root, or any with none
pinned, is checked but not trusted: it does not count against a
revocation, and it does not fail the seal either, so pinning one TSA
never rejects another's time-stamps.

trust list prints each pinned root's subject, validity and fingerprint,
the issuer roots first, then the TSA roots. trust remove --tsa unpins the
TSA root with that fingerprint (as trust list prints it; spaces and
colons ignored). The issuer root is not removed this way: the synced
trust data is verified against it (start a new --store to change it).

Examples:
  elicense-verify trust add root.crt.pem
  elicense-verify trust add --fingerprint "8F3A 11C2 …" root.crt.pem
  elicense-verify trust add --tsa --fingerprint "5D0C 9E41 …" tsa-root.pem
  elicense-verify trust list
  elicense-verify trust remove --tsa "5D0C 9E41 …"
`,
	flags: func(fs *flag.FlagSet, o *options) {
		fs.String("fingerprint", "", "pin only a root with this SM3 `fingerprint` (hex; spaces and colons ignored)")
		fs.Bool("tsa", false, "a time-stamp authority's root, kept apart from the issuer's roots")
	},
	run: func(e env, o *options, args []string) int {
		tsa := flagValue(o, "tsa") == "true"
		switch {
		case len(args) == 2 && args[0] == "add":
			return trustAdd(e, o, args[1], tsa)
		case len(args) == 1 && args[0] == "list":
			return trustList(e, o)
		case len(args) >= 2 && args[0] == "remove" && tsa:
			// The fingerprint as trust list prints it, quoted or not.
			return trustRemove(e, o, strings.Join(args[1:], ""))
		case len(args) > 0 && args[0] == "add":
			return usageError(e, "trust", "trust add takes one file: ROOT.pem")
		case len(args) > 0 && args[0] == "list":
			return usageError(e, "trust", "trust list takes no argument")
		case len(args) > 0 && args[0] == "remove" && !tsa:
			return usageError(e, "trust", "trust remove removes a TSA root: trust remove --tsa FINGERPRINT (the issuer root is not removed: the synced trust data is verified against it)")
		case len(args) > 0 && args[0] == "remove":
			return usageError(e, "trust", "trust remove --tsa takes the FINGERPRINT of the TSA root (trust list shows it)")
		}
		return usageError(e, "trust", "use trust add [--tsa] ROOT.pem, trust list or trust remove --tsa FINGERPRINT")
	},
}

func trustAdd(e env, o *options, file string, tsa bool) int {
	fp := flagValue(o, "fingerprint")
	want, err := store.ParseFingerprint(fp)
	if fp != "" && err != nil {
		return usageError(e, "trust", "--fingerprint: %v", err)
	}
	s, err := store.Open(o.store)
	if err != nil {
		return fail(e, err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fail(e, err)
	}
	var certs []*gm.Certificate
	switch {
	case tsa && fp != "":
		certs, err = s.AddTSARootPinned(data, want)
	case tsa:
		certs, err = s.AddTSARoot(data)
	case fp != "":
		certs, err = s.AddRootPinned(data, want)
	default:
		certs, err = s.AddRoot(data)
	}
	if err != nil {
		return fail(e, err)
	}
	what := "root"
	if tsa {
		what = "TSA root"
	}
	for _, c := range certs {
		fmt.Fprintf(e.stdout, "pinned %s %q (valid until %s)\n  SM3 fingerprint: %s\n", what, c.Subject.CommonName, c.NotAfter.UTC().Format(time.DateOnly), store.FingerprintOf(c))
	}
	return exitOK
}

// trustList prints the issuer roots, then the TSA roots, each as
// "issuer root SUBJECT" or "TSA root SUBJECT", its validity and its
// fingerprint. Without an issuer root it fails as every command does,
// after the TSA roots if any.
func trustList(e env, o *options) int {
	s, err := store.Open(o.store)
	if err != nil {
		return fail(e, err)
	}
	tsas, err := s.TSARoots()
	if err != nil {
		return fail(e, err)
	}
	roots, err := s.Roots()
	if err != nil && (!errors.Is(err, store.ErrNoRoots) || len(tsas) == 0) {
		return fail(e, err)
	}
	if len(roots) == 0 {
		fmt.Fprintln(e.stdout, "no issuer root pinned (elicense-verify trust add ROOT.pem)")
	}
	printRoots(e.stdout, "issuer root", roots)
	printRoots(e.stdout, "TSA root", tsas)
	if len(tsas) == 0 {
		fmt.Fprintln(e.stdout, "no TSA root pinned: time-stamps are checked, not trusted")
	}
	return exitOK
}

func printRoots(w io.Writer, what string, certs []*gm.Certificate) {
	for _, c := range certs {
		fmt.Fprintf(w, "%s %s\n  valid %s to %s\n  SM3 fingerprint: %s\n", what, c.Subject, c.NotBefore.UTC().Format(time.DateOnly),
			c.NotAfter.UTC().Format(time.DateOnly), store.FingerprintOf(c))
	}
}

func trustRemove(e env, o *options, arg string) int {
	fp, err := store.ParseFingerprint(arg)
	if err != nil {
		return usageError(e, "trust", "trust remove --tsa: %v", err)
	}
	s, err := store.Open(o.store)
	if err != nil {
		return fail(e, err)
	}
	c, err := s.RemoveTSARoot(fp)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "removed TSA root %q\n  SM3 fingerprint: %s\n", c.Subject.CommonName, fp)
	return exitOK
}

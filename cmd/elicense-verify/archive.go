package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"elicense/internal/gm"
	varchive "elicense/verifier/archive"
	"elicense/verifier/store"
)

var cmdArchive = &command{
	name:    "archive",
	summary: "check an archive package (电子档案) offline",
	common:  withJSON,
	usage: `
Usage: elicense-verify archive [--json] PKG

Checks the archive package PKG (made by 'elicense archive') with no
server: the manifest's SM2 signature by the agency key, every file's SM3
against the manifest (a changed byte anywhere is named), each licence
version's sealed OFD file (as of its signing), its credential's signature,
and each ledger entry's inclusion proof against the package's checkpoint,
whose signature by the ledger key is checked. Every certificate must chain
to the package's root. The items each licence file must carry are derived
with the class catalogue the package carries (catalogue.json), the one its
files were made with; a package without one is checked with this
program's built-in catalogue, and the output says so.

Trust is anchored in the root: when the store (--store) holds pinned roots,
the package's root must be one of them, and once synced the package's
ledger key must be the bundle's and each agency key one the bundle lists
with the same certificate (the bundle's key states hold); a key made after
the synced bundle (one older than the package) is noted as not
cross-checked, not refused: sync and verify again. Without pinned roots the package is only
checked against itself: the verdict is UNPINNED and the root's SM3
fingerprint is printed, to be compared out of band.

Exit status: 0 VALID (every check holds, root pinned), 1 INVALID (a check
does not hold) or UNPINNED (every check holds against an unpinned root),
2 the package could not be checked (not a zip, no manifest, store error).

Examples:
  elicense-verify archive 2026-01.zip
  elicense-verify archive --store /var/lib/elicense-verify --json 2026-01.zip
`,
	run: func(e env, o *options, args []string) int {
		if len(args) != 1 {
			return usageError(e, "archive", "name one package PKG")
		}
		return archiveCmd(e, o, args[0])
	},
}

// archiveTrust is what the store pins: its roots and, once synced, the
// bundle's ledger key.
func archiveTrust(e env, dir string) (varchive.Options, error) {
	s, err := store.Open(dir)
	if err != nil {
		return varchive.Options{}, err
	}
	roots, err := s.Roots()
	if err != nil && !errors.Is(err, store.ErrNoRoots) {
		return varchive.Options{}, err
	}
	opts := varchive.Options{Roots: roots}
	switch cache, err := s.Load(e.now()); {
	case err == nil:
		b := cache.State().Bundle
		if b != nil && b.LedgerKey != nil {
			c, err := gm.ParseCertificate(b.LedgerKey.Cert)
			if err != nil {
				return varchive.Options{}, err
			}
			opts.Ledger = []*gm.Certificate{c}
		}
		opts.Bundle = b
	case !errors.Is(err, store.ErrNoCache) && !errors.Is(err, store.ErrNoRoots):
		return varchive.Options{}, err
	}
	return opts, nil
}

func archiveCmd(e env, o *options, path string) int {
	opts, err := archiveTrust(e, o.store)
	if err != nil {
		return fail(e, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(e, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fail(e, err)
	}
	rep, err := varchive.Verify(f, st.Size(), opts)
	if err != nil {
		return fail(e, err)
	}
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return fail(e, err)
		}
	} else {
		printArchive(e.stdout, rep, opts.Bundle != nil)
	}
	if rep.Verdict == varchive.Valid {
		return exitOK
	}
	return exitVerdict
}

// printArchive prints r; synced says a synced trust bundle was given.
func printArchive(w io.Writer, r *varchive.Report, synced bool) {
	fmt.Fprintf(w, "%s archive of %s, %s – %s: %d licence versions, checkpoint %d\n",
		r.Verdict, r.Agency, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.Count, r.Checkpoint)
	switch {
	case r.Root == "":
		fmt.Fprintf(w, "  root: none read (see the problems)\n")
	case r.Pinned:
		fmt.Fprintf(w, "  root %s (pinned)\n", r.Root)
	default:
		fmt.Fprintf(w, "  root %s (not pinned: every check holds only against the package's own root; compare its fingerprint out of band, or pin it with trust add)\n", r.Root)
	}
	if r.Catalogue == varchive.CatalogueVerifier {
		fmt.Fprintf(w, "  catalogue: the package carries none; checked with this program's built-in catalogue, which may differ from the one its files were made with\n")
	} else if r.Catalogue == varchive.CataloguePackage {
		fmt.Fprintf(w, "  catalogue: the package's own (catalogue.json)\n")
	}
	switch {
	case r.KeysCrossChecked:
		fmt.Fprintf(w, "  agency keys cross-checked against the synced trust bundle\n")
	case synced:
		fmt.Fprintf(w, "  agency keys not all cross-checked (see the notes: for those, trust/keys.json is the package's own word)\n")
	default:
		fmt.Fprintf(w, "  agency keys not cross-checked (no synced trust bundle: trust/keys.json is the package's own word)\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	for _, l := range r.Licences {
		v := "ok"
		if !l.OK {
			v = "INVALID"
		}
		fmt.Fprintf(w, "  %s %s (%s, OFD %s, %d events)\n", v, l.ID, l.Status, l.OFD, l.Events)
		for _, p := range l.Problems {
			fmt.Fprintf(w, "    problem: %s\n", p)
		}
	}
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

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
to the package's root.

Trust is anchored in the root: when the store (--store) holds pinned roots,
the package's root must be one of them; otherwise the package is only
checked against itself and the root's SM3 fingerprint is printed, to be
compared out of band.

Exit status: 0 every check holds, 1 any does not, 2 the package could not
be checked (not a zip, no manifest, store error).

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

func archiveCmd(e env, o *options, path string) int {
	var roots []*gm.Certificate
	if s, err := store.Open(o.store); err == nil {
		roots, err = s.Roots()
		if err != nil && !errors.Is(err, store.ErrNoRoots) {
			return fail(e, err)
		}
	} else {
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
	rep, err := varchive.Verify(f, st.Size(), varchive.Options{Roots: roots})
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
		printArchive(e.stdout, rep)
	}
	if rep.OK {
		return exitOK
	}
	return exitVerdict
}

func printArchive(w io.Writer, r *varchive.Report) {
	verdict := "VALID"
	if !r.OK {
		verdict = "INVALID"
	}
	fmt.Fprintf(w, "%s archive of %s, %s – %s: %d licence versions, checkpoint %d\n", verdict, r.Agency,
		r.From.Format("2006-01-02T15:04:05Z07:00"), r.To.Format("2006-01-02T15:04:05Z07:00"), r.Count, r.Checkpoint)
	if r.Pinned {
		fmt.Fprintf(w, "  root %s (pinned)\n", r.Root)
	} else {
		fmt.Fprintf(w, "  root %s (not pinned: compare it out of band)\n", r.Root)
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

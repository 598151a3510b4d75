package main

import (
	"flag"
	"fmt"

	"elicense/issuer/conformance"
)

func init() {
	register(&command{
		name:    "conformance",
		summary: "regenerate the conformance kit (vectors for every artefact, deterministic)",
		usage: `
Usage: elicense conformance --out DIR

Writes the conformance kit's vector files, trust data, exemptions and
known deviations into DIR (conformance/README.md describes them). Keys
come from fixed seeds and the clock is fixed, so the files are the same
byte for byte on every run; README.md in DIR is left alone.

Examples:
  elicense conformance --out conformance
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("out", "", "output `directory` (required)")
		},
		run: runConformance,
	})
}

func runConformance(e *env, fs *flag.FlagSet) int {
	out := fs.Lookup("out").Value.String()
	if out == "" {
		return usageError(e, "conformance", "--out is required")
	}
	names, err := conformance.Write(out)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense conformance: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "wrote %d files to %s\n", len(names), out)
	return exitOK
}

package main

import (
	"errors"
	"flag"
	"fmt"

	"elicense/certs/ident"
)

// validators maps a kind named on the command line to its validator.
var validators = []struct {
	kind string
	fn   func(string) error
}{
	{"uscc", ident.ValidateUSCC},
	{"resident-id", ident.ValidateResidentID},
	{"org-code", ident.ValidateOrgCode},
	{"license-id", ident.ValidateLicenseID},
}

func init() {
	register(&command{
		name:    "validate",
		summary: "check a USCC, resident ID, organisation code or licence identifier",
		usage: `
Usage: elicense validate KIND VALUE

Checks VALUE as an identifier of the given KIND and prints "valid" (for a
license-id, with the kind of issuer code found: a USCC, or a 6-digit GB/T
2260 division code), or "invalid: " and the precise reason. Nothing is normalised: spaces and
lower-case letters are reported, not fixed.

Kinds:
  uscc          统一社会信用代码 (unified social credit code, GB 32100)
  resident-id   公民身份号码 (citizen identity number, GB 11643)
  org-code      组织机构代码 (organisation code, GB 11714), XXXXXXXX-C or XXXXXXXXC
  license-id    电子证照标识 (licence identifier, GB/T 36904)

Exit status: 0 valid, 1 invalid, 2 usage error.

Examples:
  elicense validate uscc 91350100M000100Y43
  elicense validate resident-id 11010519491231002X
  elicense validate org-code D2143569-X
  elicense validate license-id 1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20260001.001.N
`,
		run: runValidate,
	})
}

func runValidate(e *env, fs *flag.FlagSet) int {
	args := fs.Args()
	if len(args) != 2 {
		return usageError(e, "validate", "want KIND and VALUE, got %d argument(s)", len(args))
	}
	kind, value := args[0], args[1]
	for _, v := range validators {
		if v.kind != kind {
			continue
		}
		err := v.fn(value)
		if err == nil {
			if id, perr := ident.ParseLicenseID(value); kind == "license-id" && perr == nil {
				fmt.Fprintf(e.stdout, "valid (issuer code: %s)\n", id.IssuerKind().Description())
				return exitOK
			}
			fmt.Fprintln(e.stdout, "valid")
			return exitOK
		}
		reason := err.Error()
		var ie *ident.Error
		if errors.As(err, &ie) && ie.Reason != "" {
			reason = ie.Reason
		}
		fmt.Fprintf(e.stdout, "invalid: %s\n", reason)
		return exitFail
	}
	return usageError(e, "validate", "unknown KIND %q; want uscc, resident-id, org-code or license-id", kind)
}

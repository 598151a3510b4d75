package conformancekit

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"elicense/verifier"
	"elicense/verifier/ofd"
	"elicense/verifier/seal"
)

func runOFD(t *testing.T, e *env, v vector) string {
	var in struct {
		File    []byte `json:"file"`
		Revoked []struct {
			ESID  string    `json:"esid"`
			Since time.Time `json:"since"`
		} `json:"revoked_seals"`
		CheckLicence bool `json:"check_licence"`
	}
	mustInput(t, v, &in)
	opts := ofd.Options{Roots: e.roots, TSARoots: e.roots, At: v.Now}
	if in.Revoked != nil {
		opts.Status = seal.SealStatusFunc(func(esID string) (bool, time.Time, bool) {
			for _, r := range in.Revoked {
				if r.ESID == esID {
					return true, r.Since, true
				}
			}
			return false, time.Time{}, true
		})
	}
	if in.CheckLicence {
		opts.Licences = verifier.New(e.state, verifier.Options{})
	}
	r, _ := ofd.Verify(in.File, opts)
	got := "ofd:" + string(r.Verdict)
	// OFD-07: a vector naming unprotected files, and a VALID one, say
	// exactly which shown files the verifier must warn about.
	if (len(v.Unprotected) > 0 || v.Expected == "ofd:VALID") && got == v.Expected {
		if !slices.Equal(sorted(r.Unprotected), sorted(v.Unprotected)) {
			return fmt.Sprintf("%s, unprotected %q (want %q)", got, r.Unprotected, v.Unprotected)
		}
		if len(v.Unprotected) > 0 && len(r.Warnings) == 0 {
			return got + " without a warning"
		}
	}
	return got
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

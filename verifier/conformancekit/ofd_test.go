package conformancekit

import (
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
	return "ofd:" + string(r.Verdict)
}

package conformancekit

import (
	"testing"

	"elicense/verifier/ofd"
)

func runOFD(t *testing.T, e *env, v vector) string {
	var in struct {
		File []byte `json:"file"`
	}
	mustInput(t, v, &in)
	r, _ := ofd.Verify(in.File, ofd.Options{Roots: e.roots, At: v.Now})
	return "ofd:" + string(r.Verdict)
}

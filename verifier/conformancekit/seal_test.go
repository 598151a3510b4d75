package conformancekit

import (
	"testing"
	"time"

	"elicense/internal/gm"
	"elicense/verifier/seal"
)

type sealInput struct {
	Signature []byte `json:"signature"`
	Document  []byte `json:"document"`
	RootPEM   string `json:"root_pem"`
	Revoked   []struct {
		ESID  string    `json:"esid"`
		Since time.Time `json:"since"`
	} `json:"revoked_seals"`
}

func runSeal(t *testing.T, e *env, v vector) string {
	var in sealInput
	mustInput(t, v, &in)
	opts := seal.Options{Roots: e.roots, At: v.Now}
	if in.RootPEM != "" {
		roots, err := gm.ParseCertificatesPEM([]byte(in.RootPEM))
		if err != nil {
			t.Fatalf("%s: root: %v", v.ID, err)
		}
		opts.Roots = roots
	}
	opts.TSARoots = e.roots
	opts.Status = seal.SealStatusFunc(func(esID string) (bool, time.Time, bool) {
		for _, r := range in.Revoked {
			if r.ESID == esID {
				return true, r.Since, true
			}
		}
		return false, time.Time{}, true
	})
	r, err := seal.Verify(in.Signature, in.Document, opts)
	if r == nil {
		return "seal:error(" + err.Error() + ")"
	}
	return "seal:" + string(r.Verdict)
}

package verifier

import (
	"testing"
)

// FuzzVerify runs arbitrary text through the whole path, with real trust
// data: it must never panic, always give a known code with messages, and
// accept only what carries a licence.
func FuzzVerify(f *testing.F) {
	c := readConformance(f)
	st := c.loadState(f)
	for _, tc := range c.Cases {
		f.Add(tc.Text)
	}
	known := map[Code]bool{}
	for _, k := range Codes {
		known[k] = true
	}
	f.Fuzz(func(t *testing.T, text string) {
		v := New(st, Options{ReplayCapacity: 16})
		got := v.Verify(text, c.Now)
		if !known[got.Code] || got.Message == "" {
			t.Fatalf("code %q", got.Code)
		}
		if got.Code.OK() && (got.Licence == nil || got.Agency == "") {
			t.Fatalf("accepted without a licence: %+v", got)
		}
	})
}

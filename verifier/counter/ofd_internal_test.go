package counter

import (
	"testing"

	vofd "elicense/verifier/ofd"
)

// Every verdict verifier/ofd can give has a Chinese headline; only VALID
// is green.
func TestOFDVerdictLabels(t *testing.T) {
	for _, v := range vofd.Verdicts {
		if ofdHeadlines[v] == "" {
			t.Errorf("%s has no headline", v)
		}
		if c := ofdColour(v); (c == "green") != (v == vofd.Valid) {
			t.Errorf("%s is %s", v, c)
		}
	}
	if c := ofdColour(vofd.PartiallyProtected); c != "amber" {
		t.Errorf("PARTIALLY_PROTECTED is %s, want amber", c)
	}
}

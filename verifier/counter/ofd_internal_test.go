package counter

import (
	"testing"
	"time"

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

// A VALID document is said to be a valid licence file only when its
// licence was checked; one without licence metadata reads as no licence
// file, whatever page it shows.
func TestLicenceWords(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rep      vofd.Report
		headline string
	}{
		{"licence file", vofd.Report{Verdict: vofd.Valid, Licence: &vofd.LicenceCheck{Verdict: vofd.Valid}}, "证照文件有效"},
		{"no licence metadata", vofd.Report{Verdict: vofd.Valid}, "签章有效，非证照文件"},
		{"revoked licence", vofd.Report{Verdict: vofd.LicenceNotValid, Licence: &vofd.LicenceCheck{Verdict: vofd.LicenceNotValid}}, "证照已失效"},
		{"modified", vofd.Report{Verdict: vofd.DocumentModified}, "文档已被修改"},
	} {
		res := ofdResult(&tc.rep, false, true, time.Time{})
		licenceWords(&res)
		if res.Headline != tc.headline || res.Message == "" || res.MessageEN == "" {
			t.Errorf("%s: %q, want %q", tc.name, res.Headline, tc.headline)
		}
	}
}

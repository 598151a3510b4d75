package conformance

// exemptions lists the rules no verifier vector can exercise, each with
// its reason. A rule is exempt only when a verifier cannot observe it:
// what a producer (issuer, wallet, server) must do or how the
// specification itself changes.
var exemptions = []Exemption{}

func exemptionsDoc() any {
	return struct {
		Note       string      `json:"_note"`
		Exemptions []Exemption `json:"exemptions"`
	}{
		Note:       "Rules of docs/spec/rules.md without a vector in this kit, and why. verifier/conformancekit fails if a rule has neither a vector nor an entry here.",
		Exemptions: exemptions,
	}
}

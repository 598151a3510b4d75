package conformance

// Exemption kinds.
const (
	// exemptProducer: a rule on what an issuer, wallet or server makes or
	// serves; a verifier sees only its result, which other vectors carry.
	exemptProducer = "producer"
	// exemptProcess: a rule on how the specification, the catalogue or
	// the formats change; nothing to verify in an artefact.
	exemptProcess = "process"
	// exemptUnobservable: a verifier obligation no verdict shows.
	exemptUnobservable = "not-observable"
	// exemptPending: a verifier can be tested on it, but the kit has no
	// vector yet; each says what is missing.
	exemptPending = "pending"
)

// exemptions lists the rules without a vector, each with its kind and
// reason.
var exemptions = []Exemption{
	{"CAT-05", exemptProcess, "fields are only appended to a class: a property of successive catalogue versions, not of one artefact"},
	{"CAT-06", exemptProducer, "GET /v1/classes lists classes and fields in file order: a server obligation (the field numbers themselves are exercised by the QR vectors, CAT-04)"},
	{"CERT-04", exemptProducer, "issuers write type codes in the agency policy; a reader's side is CERT-03/CERT-12 (certificates.json, qr-static.json)"},
	{"EVENT-06", exemptProducer, "which JWS and which copy identifiers the issuer records; a wallet checks its own entry (EVENT-07, ledger.json)"},
	{"GRANT-18", exemptUnobservable, "a counter receipt is SM2-encrypted (randomised) to the platform's receipt key and opened only by the platform: no counter or relying party verifies one, and a fixed ciphertext would not show the rule"},
	{"ID-08", exemptProducer, "identifiers printed elsewhere (credential jti, OFD, ledger) equal the QR's rebuilt one: an issuer obligation"},
	{"ID-09", exemptProducer, "copy identifiers licence#tag are opaque to verifiers; the grant vectors use one (grants.json)"},
	{"JWS-04", exemptPending, "a token over 96 MiB must be refused; a vector of that size has no place in the kit (certs/jws tests it); an implementation may test it with a generated token"},
	{"LEDGER-15", exemptProducer, "GET /v1/ledger/checkpoint: a server endpoint; its output is the checkpoint vectors' input"},
	{"LEDGER-16", exemptProducer, "GET /v1/ledger/entries/{i}: a server endpoint; the client's recomputation is the event and inclusion vectors"},
	{"LEDGER-17", exemptProducer, "GET /v1/ledger/proof/inclusion: a server endpoint (its 400 answers); the proofs themselves are ledger.json's"},
	{"LEDGER-18", exemptProducer, "GET /v1/ledger/proof/consistency: a server endpoint (its 400 answers); the proofs themselves are ledger.json's"},
	{"QR-34", exemptProducer, "the wallet's refresh interval (SHOULD); a verifier sees only the presentation window (QR-32)"},
	{"SEAL-06", exemptProducer, "seal type numbers are a definition; they do not change a verdict"},
	{"STATUS-15", exemptProducer, "the status fetch endpoints (full token, delta, empty, 404): a server obligation"},
	{"STATUS-16", exemptProducer, "an unchanged list is re-signed as a new version: an issuer obligation"},
	{"STATUS-20", exemptProducer, "no reason inferred from a status value: nothing a verdict shows beyond STATUS-18"},
	{"VER-07", exemptProcess, "the catalogue is append-only and new type codes mean new agency certificates: a rule for catalogue changes"},
	{"VER-09", exemptProcess, "format changes update the specification, rules.md and this kit in the same commit: a rule for the project"},
	{"VER-10", exemptProcess, "rule IDs are stable and withdrawn rules keep their row: a rule for the specification (the coverage test reads rules.md)"},
	{"VERIFY-18", exemptUnobservable, "a verifier must not log or upload personal data: not visible in a verdict"},
}

func exemptionsDoc() any {
	return struct {
		Note       string      `json:"_note"`
		Exemptions []Exemption `json:"exemptions"`
	}{
		Note: "Rules of docs/spec/rules.md without a vector in this kit, each with its kind (producer, process, not-observable, pending) and why. " +
			"verifier/conformancekit fails if a rule has neither a vector nor an entry here, or has both.",
		Exemptions: exemptions,
	}
}

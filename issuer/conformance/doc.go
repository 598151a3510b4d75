// Package conformance generates the conformance kit (conformance/ at the
// repository root, docs/spec/README.md): one JSON file of vectors per
// artefact kind, each vector naming the specification rules it exercises,
// its input, the verifier's "now" and the verdict a conforming
// implementation gives; the trust data they are checked against; the
// rules without a vector and why; the known deviations of the project's
// own verifier.
//
// Generation is deterministic: keys are derived from fixed seeds, SM2
// signatures use deterministic nonces, QR salts come from a fixed stream
// and the clock is [Now], so two runs give byte-identical files. The
// generator never consults a verifier: expected verdicts are the
// specification's, and verifier/conformancekit checks the project's
// verifier against them.
package conformance

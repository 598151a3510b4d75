// Package conformancekit holds the tests that run the project's own
// verifiers over the conformance kit (conformance/ at the repository
// root): every vector must get its expected verdict (or, for a listed
// known deviation, the reference verifier's current one), and every rule
// of docs/spec/rules.md must have a vector or a documented exemption.
// It has no code of its own; it imports no issuer package.
package conformancekit

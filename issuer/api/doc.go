// Package api is the issuer's HTTP interface under /v1 (echo): licences,
// status lists, the trust bundle, ledger proofs, operator tokens, health,
// metrics and the OpenAPI document. Every mutating call needs a bearer
// token (alg SM2SM3) whose role, agency and classes the service checks;
// every error is JSON {code, message, field} with a 4xx status for bad
// input and never a 500 for something the caller sent.
package api

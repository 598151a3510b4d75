// Package service is the issuer's business logic: issuing, re-issuing,
// suspending, reinstating and revoking licences on behalf of agencies, with
// every change a ledger event that is durable before it is acknowledged.
//
// It checks the operator's scope (agency and classes) on every mutating
// call, validates records against the class catalogue, signs credentials
// with the agency's key, builds QR cores, allocates status-list positions,
// and after a crash reconciles its store with the ledger (Recover). It
// knows nothing of HTTP; issuer/api exposes it.
package service

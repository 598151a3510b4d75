// Package certs is what a licence is, shared by issuer, verifier and wallet:
// the class catalogue (certs/catalog), identifiers and their validators
// (certs/ident), the signed credential (certs/credential) and the QR token
// (certs/qr). It knows nothing of HTTP, storage or key files, and imports
// only internal packages.
package certs

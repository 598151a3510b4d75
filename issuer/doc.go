// Package issuer is the issuing side of elicense: making and changing
// licences and seals on behalf of agencies. Its subpackages own the PKI
// (issuer/pki), issuance, status lists, trust bundles, holder claims and the
// HTTP API. It may import certs and internal, never verifier or mobile-sdk.
package issuer

// Package ledgerevent is the catalogue of the events the issuer records
// in its transparency ledger: one typed struct per kind, their canonical
// binary encoding (format 2), one Decode for all of them, and the salted
// commitments that stand in for personal data.
//
// The ledger itself (internal/ledger) stores, hashes and proves opaque
// byte strings; what an entry means is defined here and nowhere else.
// The issuer builds every entry through this package and decodes it
// through it when it replays the ledger at start.
//
// Why under certs and not issuer: an entry is a public format. The
// holder's wallet (mobile-sdk) checks that its licence's issuance is in
// the ledger, counters and auditors read entries, and those may import
// certs but never issuer.
//
// No personal data is published. Holder codes and names, operator
// identities and device keys appear only as commitments
//
//	commitment = SM3(salt ‖ value)
//	salt       = HMAC-SM3(audit key, context)[:16]
//
// where the context names the event kind, its subject, its time and the
// field (see [AuditKey.Salt]). The audit key stays with the issuer, so
// salts need not be stored, and one field of one event can be opened for
// an auditor by revealing its salt and value ([Opening],
// [VerifyOpening]) without revealing the key or any other field.
// Licence identifiers, agency codes, key IDs, seal identifiers, reason
// codes, times and SM3 digests of credentials, seals and genuine sets
// are published in the clear: none of them identifies a person. The
// 授权用证 events (kinds 10–15) publish relying-party ids, grant and
// receipt ids, matter codes, field keys and counter names, and commit to
// the licence, so that the ledger does not link a licence to where it
// was used.
//
// docs/spec/events.md specifies every kind and exactly what it publishes;
// docs/events.md says why.
package ledgerevent

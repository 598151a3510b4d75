// Package receipt is the counter receipt of docs/consent.md §9: the record
// a counter keeps of each verification whose token it read, and uploads to
// the issuer when online, so that the holder's use history (用证记录)
// includes counter verifications without the counter ever sending a name,
// code or field value.
//
// It owns the receipt ([Receipt]: id, time, verdict, and the licence
// sealed to the platform's receipt key), the sealed plaintext ([Seal],
// [Open]: "elicense/receipt/v1" 0x00 ‖ licence id ‖ 0x00 ‖ device key),
// the upload batch and its answer ([Batch], [ParseBatch], [Answer]), with
// strict parsing: every malformed input is an [*Error] naming the field,
// matching [ErrMalformed]. Opening needs the receipt key's private half,
// which only the issuer holds.
//
// It does no I/O and keeps no state; the counter's queue is in
// verifier/store, the upload endpoint in issuer/api.
package receipt

// Package seal makes electronic seals (电子印章, GB/T 38540-2020 v4) for
// holders: an agency's key, certified by the root (certs/agencycert role
// agency), acts as seal maker (制章人) and signs a seal naming the holder,
// the seal type (公章, 合同专用章, 财务专用章 …), its validity, the
// certificates allowed to use it, and its picture — a PNG the caller gives,
// or a simple round red seal drawn here ([DrawRoundSeal]).
//
// [Make] returns the SES_Seal DER and its identifier (esID, [NewESID]).
// Sealing documents with a seal is certs/ses ([ses.SignDocument]);
// verifying is verifier/seal.
//
// It must not: do I/O, store seals or record ledger events (callers do,
// with what Make returns), serve HTTP, or import verifier or mobile-sdk.
package seal

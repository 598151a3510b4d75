// Package loadtest drives an issuer's API and measures what it answered:
// Issue, the rate of durable issuances from many clients (elicense bench);
// Mix, a day's mixed traffic drawn by weight from Kinds, with each kind's
// rate, latency percentiles (Hist, of fixed size however long the run)
// and errors, and the server's memory read from its /metrics over the
// run. Traffic makes the issuer's side of that day (issuance, look-ups,
// revocations, holders' claims, status and bundle fetches); the counter's
// side (syncs and verifications) comes from the caller, since the issuer
// does not import the verifier. Every run issues real licences, so it is
// for test and staging servers only.
package loadtest

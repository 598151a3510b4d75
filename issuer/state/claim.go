package state

import "time"

// MaxClaimTicket is the highest ticket number: seven base-32 characters
// of a claim code.
const MaxClaimTicket = 1<<35 - 1

// Claim is a one-time claim code's ticket. A code is the ticket's number
// and a secret; the state keeps only a salted hash of the secret, which
// the caller makes and checks (see UseClaim).
type Claim struct {
	LicenceID string    `json:"licence_id"`
	Expires   time.Time `json:"expires"`
	Used      bool      `json:"used,omitzero"`
	Salt      []byte    `json:"salt"`
	Verifier  []byte    `json:"verifier"`
	// Ticket is the number the state gave the ticket (set by PutClaim and
	// by Tx.Insert).
	Ticket uint64 `json:"-"`
}

package state

import "time"

// SealRecord is an electronic seal as the ledger recorded it.
type SealRecord struct {
	ESID        string    `json:"esid"`
	Agency      string    `json:"agency"`
	HolderCode  string    `json:"holder_code,omitempty"`
	MadeAt      time.Time `json:"made_at"`
	LedgerIndex uint64    `json:"ledger_index"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
	Reason      string    `json:"reason,omitempty"`
}

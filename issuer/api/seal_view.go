package api

import (
	"time"

	"elicense/issuer/state"
)

// sealView is a seal as the API answers with it: the API's contract,
// apart from how the state stores the row.
type sealView struct {
	ESID        string    `json:"esid"`
	Agency      string    `json:"agency"`
	HolderCode  string    `json:"holder_code,omitempty"`
	MadeAt      time.Time `json:"made_at"`
	LedgerIndex uint64    `json:"ledger_index"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
	Reason      string    `json:"reason,omitempty"`
}

func viewSeal(r *state.SealRecord) sealView {
	return sealView{ESID: r.ESID, Agency: r.Agency, HolderCode: r.HolderCode, MadeAt: r.MadeAt,
		LedgerIndex: r.LedgerIndex, RevokedAt: r.RevokedAt, Reason: r.Reason}
}

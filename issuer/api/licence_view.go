package api

import (
	"time"

	"elicense/certs/qr"
	"elicense/issuer/service"
	"elicense/issuer/state"

	jsonv2 "github.com/go-json-experiment/json"
)

// licenceView is a licence as the API shows it: built from the stored
// record (view), plus what only an answer carries (issuedView: the claim
// code, whether an import key was used before; the static QR text is
// derived on the way out).
type licenceView struct {
	ID           string            `json:"id"`
	Class        string            `json:"class"`
	Agency       string            `json:"agency"`
	HolderCode   string            `json:"holder_code"`
	HolderName   string            `json:"holder_name"`
	Number       string            `json:"number,omitempty"` // 证照编号
	Fields       map[string]string `json:"fields"`
	Status       state.Status      `json:"status"`
	Reason       string            `json:"reason,omitempty"`
	StatusList   string            `json:"status_list"`
	StatusIndex  uint64            `json:"status_index"`
	Credential   string            `json:"credential"`
	LedgerIndex  uint64            `json:"ledger_index"`
	IssuedAt     string            `json:"issued_at"`
	UpdatedAt    string            `json:"updated_at"`
	Supersedes   string            `json:"supersedes,omitempty"`
	SupersededBy string            `json:"superseded_by,omitempty"`
	QR           string            `json:"qr,omitempty"` // static (unbound) QR text
	CopyOf       string            `json:"copy_of,omitempty"`
	Device       string            `json:"device,omitempty"`
	Copies       []string          `json:"copies,omitempty"`
	ClaimCode    string            `json:"claim_code,omitempty"` // only in the issuance response
	ClaimExpires string            `json:"claim_code_expires,omitempty"`
	Existing     bool              `json:"existing,omitempty"` // returned for an import key used before
}

func view(r *state.Record) licenceView {
	v := licenceView{
		ID: r.ID, Class: r.Class, Agency: r.Agency, HolderCode: r.HolderCode, HolderName: r.HolderName, Number: r.Number,
		Fields: r.Fields, Status: r.Status, Reason: r.Reason, StatusList: r.StatusList, StatusIndex: r.StatusIndex,
		Credential: r.Credential, LedgerIndex: r.LedgerIndex,
		IssuedAt: r.IssuedAt.UTC().Format("2006-01-02T15:04:05Z"), UpdatedAt: r.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"),
		Supersedes: r.Supersedes, SupersededBy: r.SupersededBy, CopyOf: r.CopyOf, Device: r.Device, Copies: r.Copies,
	}
	if text, err := staticQR(r); err == nil {
		v.QR = text
	}
	return v
}

func staticQR(r *state.Record) (string, error) {
	if r.Holding != nil {
		return r.Holding.Static()
	}
	var h qr.Holding
	// json v2: about twice as fast as encoding/json, on every licence shown.
	if err := jsonv2.Unmarshal(r.QR, &h); err != nil {
		return "", err
	}
	return h.Static()
}

// issuedView is the issuance response: the licence and a one-time
// claim code (领证码) for its holder, shown only here.
func issuedView(is *service.Issued) licenceView {
	v := view(is.Record)
	v.Existing = is.Existing
	if is.ClaimCode != "" {
		v.ClaimCode, v.ClaimExpires = is.ClaimCode, is.ClaimExpires.UTC().Format(time.RFC3339)
	}
	return v
}

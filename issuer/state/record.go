package state

import (
	"time"

	"elicense/certs/qr"
)

// Status is a licence's state in the issuer.
type Status string

// Licence states. Superseded is a revoked-by-re-issue: the licence was
// replaced by a newer version of its identifier.
const (
	StatusValid      Status = "valid"
	StatusSuspended  Status = "suspended"
	StatusRevoked    Status = "revoked"
	StatusSuperseded Status = "superseded"
)

// Record is one licence version as the issuer keeps it.
type Record struct {
	ID             string            `json:"id"`
	Class          string            `json:"class"`
	Agency         string            `json:"agency"`
	HolderCode     string            `json:"holder_code"`
	HolderName     string            `json:"holder_name"`
	Fields         map[string]string `json:"fields"`
	Status         Status            `json:"status"`
	Reason         string            `json:"reason,omitempty"`
	StatusList     string            `json:"status_list"`
	StatusIndex    uint64            `json:"status_index"`
	Credential     string            `json:"-"` // kept apart by backends: it never changes and is most of the bytes
	CredentialHash string            `json:"credential_hash"`
	QR             []byte            `json:"-"` // qr.Holding JSON, only on a record read back whose credential is stored verbatim (others carry Holding)
	IssuedAt       time.Time         `json:"issued_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	LedgerIndex    uint64            `json:"-"` // the issuance's ledger index, kept with LastEvent
	SupersededBy   string            `json:"superseded_by,omitempty"`
	Supersedes     string            `json:"supersedes,omitempty"`
	ImportKey      string            `json:"import_key,omitempty"` // caller's idempotency key
	// LastEvent is one past the ledger index of the last event applied to
	// this record, so replaying the ledger applies each event once and
	// never lets an older one overwrite a newer.
	LastEvent uint64 `json:"-"`

	IssuedOn string `json:"issued_on"`        // 颁证日期 as signed, YYYY-MM-DD
	Number   string `json:"number,omitempty"` // 证照编号 as printed
	// A device-bound copy has ID parent#devicekeyid, CopyOf the parent's
	// ID, its own credential and status position, and Device the holder's
	// device key (hex, compressed). The parent lists its copies.
	CopyOf  string   `json:"copy_of,omitempty"`
	Device  string   `json:"device,omitempty"`
	Copies  []string `json:"copies,omitempty"`
	Unbound bool     `json:"unbound,omitzero"` // a copy revoked on its own (device lost)

	// Holding is the QR core with what the holder needs to present it:
	// set by issuance and on reading a licence stored compactly, so
	// neither encodes nor decodes JSON on the way (QR is the same as JSON,
	// read back from a credential a backend had to store verbatim).
	Holding *qr.Holding `json:"-"`
}

// Change is a status change to apply to a record.
type Change struct {
	ID           string
	Status       Status
	Reason       string
	At           time.Time
	LedgerIndex  uint64
	SupersededBy string
	Unbind       bool // a copy revoked on its own: its device was lost
}

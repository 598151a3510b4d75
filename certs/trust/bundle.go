package trust

import (
	"sync"
	"time"
)

// FormatVersion is the bundle format this package reads and writes. A
// change that a verifier of this version must not ignore bumps it; fields
// added compatibly do not, and unknown fields are ignored.
const FormatVersion = 1

// TokenType is the typ header of a signed trust bundle.
const TokenType = "elicense-trust+jwt"

// A Bundle is everything a counter trusts: the agencies, their keys and key
// states, the classes each may issue, where the status lists are and who
// signs them, and the latest ledger checkpoint. The issuer publishes it
// signed (Sign); a counter accepts it only through Verify.
//
// A Bundle must not be copied after first use (it caches its key index)
// nor changed after it is signed or verified.
type Bundle struct {
	Version     int          `json:"version"`     // FormatVersion
	Seq         uint64       `json:"seq"`         // strictly increasing, from 1
	IssuedAt    time.Time    `json:"issued_at"`   // when the bundle was made
	NextUpdate  time.Time    `json:"next_update"` // when the next one is due; stale after that
	Root        string       `json:"root"`        // gm.KeyIDString of the root certificate
	Agencies    []Agency     `json:"agencies"`
	StatusLists []StatusList `json:"status_lists"`
	// Checkpoint is the latest ledger checkpoint, a C2SP signed note, as
	// text. This package carries it; the ledger package checks it.
	Checkpoint string `json:"checkpoint,omitempty"`
	// LedgerKey is the ledger and status signer's certificate.
	LedgerKey *Key `json:"ledger_key,omitempty"`
	// ReceiptKey is the platform's SM2 encryption certificate (role
	// receipt) under which counters seal their receipts; absent from
	// bundles of issuers that have none yet.
	ReceiptKey *Key `json:"receipt_key,omitempty"`
	// BundleSigner is the signer's certificate chain (DER, the signer
	// first, up to the root), as in the token's x5c header.
	BundleSigner [][]byte `json:"bundle_signer"`
	// RevokedSeals are the electronic seals (GB/T 38540) revoked by the
	// issuer's agencies, as the ledger recorded them.
	RevokedSeals []RevokedSeal `json:"revoked_seals,omitempty"`

	once sync.Once
	idx  *index
	raw  []byte // the signed payload, when the bundle came from Verify
}

// Agency is one issuing agency.
type Agency struct {
	Code    string      `json:"code"`    // 统一社会信用代码 (颁发机构代码)
	Name    string      `json:"name"`    // 颁发机构
	Classes []string    `json:"classes"` // catalogue class keys the agency may issue
	Keys    []AgencyKey `json:"keys"`
}

// KeyState is the state of an agency key.
type KeyState string

// The key states.
const (
	// KeyActive: the key signs licences.
	KeyActive KeyState = "active"
	// KeyRetired: the key no longer signs; what it signed before Since
	// stays valid.
	KeyRetired KeyState = "retired"
	// KeyCompromised: nothing the key signed at or after Since is valid.
	KeyCompromised KeyState = "compromised"
)

// Valid reports whether s is one of the three states.
func (s KeyState) Valid() bool { return s == KeyActive || s == KeyRetired || s == KeyCompromised }

// AgencyKey is one signing key of an agency and its state.
type AgencyKey struct {
	KID   string   `json:"kid"`  // gm.KeyIDString(Cert)
	Cert  []byte   `json:"cert"` // DER, base64 in JSON
	State KeyState `json:"state"`
	// Since is when the key entered State; required for retired and
	// compromised. Counters refuse what a retired key claims to have
	// signed at or after Since.
	Since time.Time `json:"since,omitzero"`
	// Genuine, on a compromised key only, names the document listing the
	// QR cores the key signed before Since (genuine.go); counters accept
	// those and refuse every other core of the key. Without it they
	// refuse them all.
	Genuine *GenuineRef `json:"genuine,omitempty"`
}

// Key is a certificate and its key ID.
type Key struct {
	KID  string `json:"kid"`
	Cert []byte `json:"cert"`
}

// StatusList says where a status list is published and who signs it.
type StatusList struct {
	// ID is the short name QR tokens carry (core key 6): 1 to 16
	// characters of A–Z a–z 0–9 . _ -.
	ID string `json:"id"`
	// URI is where the Status List Token is fetched, and its sub.
	URI string `json:"uri"`
	// Agency is the code of the agency whose licences the list holds.
	Agency string `json:"agency"`
	// SignerKID is the key ID of the list's signer: the ledger key or a
	// key of the agency.
	SignerKID string `json:"signer_kid"`
	// Version is the list's version (its ver) when the bundle was signed;
	// 0 when not stated. A counter refuses a list older than that, so even
	// a first sync cannot be served lists older than the bundle.
	Version uint64 `json:"version,omitempty"`
}

// RevokedSeal is a revoked electronic seal.
type RevokedSeal struct {
	ESID   string    `json:"esid"` // 电子印章标识符
	Since  time.Time `json:"since"`
	Reason string    `json:"reason,omitempty"`
}

// SealStatus says whether a seal is revoked, for seal verification
// (verifier/seal.SealStatus). The bundle lists every revocation, so a
// seal it does not list is known not to be revoked.
func (b *Bundle) SealStatus(esID string) (revoked bool, since time.Time, known bool) {
	for _, r := range b.RevokedSeals {
		if r.ESID == esID {
			return true, r.Since, true
		}
	}
	return false, time.Time{}, true
}

// Age returns how long ago the bundle was issued (never negative).
func (b *Bundle) Age(now time.Time) time.Duration { return max(now.Sub(b.IssuedAt), 0) }

// Expired reports whether the bundle is stale at now: from next_update on,
// read as a JWT's exp (RFC 7519 §4.1.4), the instant itself included.
func (b *Bundle) Expired(now time.Time) bool { return !now.Before(b.NextUpdate) }

// Agency returns the agency with the given code.
func (b *Bundle) Agency(code string) (*Agency, bool) {
	for i := range b.Agencies {
		if b.Agencies[i].Code == code {
			return &b.Agencies[i], true
		}
	}
	return nil, false
}

// StatusList returns the status list with the given short ID.
func (b *Bundle) StatusList(id string) (StatusList, bool) {
	l, ok := b.index().lists[id]
	return l, ok
}

// StatusListByURI returns the status list published at uri (the uri of a
// full credential's status reference).
func (b *Bundle) StatusListByURI(uri string) (StatusList, bool) {
	id, ok := b.index().listURIs[uri]
	if !ok {
		return StatusList{}, false
	}
	return b.StatusList(id)
}

package ledgerevent

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Format is the leading byte of every entry this package writes. Format
// 1 was the licence-shaped entry of earlier releases, which published
// operator names, seal holders' codes and device keys; Decode refuses it
// with ErrFormat1.
const Format = 2

// Kind says what happened. A new kind keeps format 2 (a decoder that
// does not know it refuses the entry, as it should: it cannot say what
// the entry means); a new field in an existing kind needs a new format.
type Kind uint8

// Kinds of format 2.
const (
	KindIssue          Kind = 1 // a licence was issued
	KindReissue        Kind = 2 // a licence's next version was issued, superseding the previous
	KindStatus         Kind = 3 // a licence was suspended, reinstated or revoked
	KindUnbind         Kind = 4 // one device's copy of a licence was revoked (the device was lost)
	KindClaim          Kind = 5 // a holder claimed a copy of a licence bound to a device key
	KindSealMade       Kind = 6 // an agency made an electronic seal
	KindSealRevoked    Kind = 7 // an electronic seal was revoked
	KindKeyRotated     Kind = 8 // an agency's signing key was replaced by a new one
	KindKeyCompromised Kind = 9 // an agency's signing key was declared compromised
)

var kindNames = [...]string{
	KindIssue:          "issue",
	KindReissue:        "reissue",
	KindStatus:         "status",
	KindUnbind:         "unbind",
	KindClaim:          "claim",
	KindSealMade:       "seal-made",
	KindSealRevoked:    "seal-revoked",
	KindKeyRotated:     "key-rotated",
	KindKeyCompromised: "key-compromised",

	KindRPRegistered:    "rp-registered",
	KindRPStatus:        "rp-status",
	KindGrant:           "grant",
	KindGrantUse:        "grant-use",
	KindGrantRevoked:    "grant-revoked",
	KindCounterVerified: "counter-verified",

	KindArchiveExported: "archive-exported",
}

// AboutLicence reports whether k is an event about a licence version or
// its device copies: issue, reissue, status, unbind or claim.
func (k Kind) AboutLicence() bool { return k >= KindIssue && k <= KindClaim }

// Valid reports whether k is a kind of format 2.
func (k Kind) Valid() bool { return k > 0 && int(k) < len(kindNames) }

func (k Kind) String() string {
	if k.Valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText gives the kind's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText parses a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if n != "" && n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("ledgerevent: unknown kind %q", b)
}

// Status is a licence's status as the ledger records it.
type Status uint8

// Statuses. The codes are the ledger's own, not the 2-bit values of the
// status list.
const (
	StatusValid     Status = 1
	StatusSuspended Status = 2
	StatusRevoked   Status = 3
)

var statusNames = [...]string{StatusValid: "valid", StatusSuspended: "suspended", StatusRevoked: "revoked"}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s > 0 && int(s) < len(statusNames) }

func (s Status) String() string {
	if s.Valid() {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// MarshalText gives the status's name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a status's name.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if n != "" && n == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("ledgerevent: unknown status %q", b)
}

// DigestSize is the size of digests and commitments (SM3).
const DigestSize = 32

// Digest is the SM3 of a signed object (credential, seal, genuine set).
// It is published: it covers a signature, so it reveals nothing of the
// object to whoever does not hold it, and lets whoever does find it.
type Digest [DigestSize]byte

// MarshalText gives lower-case hex.
func (d Digest) MarshalText() ([]byte, error) { return hexText(d[:]), nil }

func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Commitment is SM3(salt ‖ value) of a personal value (see AuditKey).
type Commitment [DigestSize]byte

// MarshalText gives lower-case hex.
func (c Commitment) MarshalText() ([]byte, error) { return hexText(c[:]), nil }

func (c Commitment) String() string { return hex.EncodeToString(c[:]) }

func hexText(b []byte) []byte { return hex.AppendEncode(nil, b) }

// Field limits, in bytes.
const (
	MaxAgencyLen = 64  // an agency code (统一社会信用代码 or a short code)
	MaxIDLen     = 256 // a licence identifier, seal esID or key ID
	MaxReasonLen = 256 // a reason code
)

// Names of the committed fields, as openings and docs/spec/events.md name
// them.
const (
	FieldOperator   = "operator"    // the operator's token subject (who acted)
	FieldHolderCode = "holder_code" // a seal holder's 统一社会信用代码 or 公民身份号码
	FieldHolderName = "holder_name" // a seal holder's name
	FieldDevice     = "device"      // a holder device's SM2 public key, 33-byte compressed SEC 1
)

// Head is what every event has: its time, the agency that acted (or
// whose key changed) and the identifier the event is about.
type Head struct {
	Time    time.Time
	Agency  string
	Subject string
}

// Event is one decoded ledger entry: *Issue, *Reissue, *StatusChange,
// *Unbind, *Claim, *SealMade, *SealRevoked, *KeyRotated,
// *KeyCompromised, *RPRegistered, *RPStatus, *Grant, *GrantUse,
// *GrantRevoked, *CounterVerified or *ArchiveExported. The set is closed; switch on the concrete type.
type Event interface {
	Kind() Kind
	Head() Head
	// fields visits the event's fields in encoding order.
	fields(c *codec)
	// check tests what the field types cannot say (which transitions
	// exist, that a copy's identifier names a device).
	check() error
}

// Issue records a licence issued: signed, stored, with its status-list
// position allocated.
type Issue struct {
	Time   time.Time `json:"time"`   // when the issuer recorded it
	Agency string    `json:"agency"` // code of the issuing agency
	// ID is the GB/T 36904 licence identifier (type code, issuer code,
	// serial, version): an issuer's code and a serial, no personal data.
	ID string `json:"id"`
	// Credential is SM3 of the signed credential (the compact JWS).
	Credential Digest `json:"credential_sm3"`
	// Operator commits to the token subject of the operator who issued.
	Operator Commitment `json:"operator"`
}

// Reissue records a licence's next version issued with changed fields,
// and the version it replaces marked superseded, in one event.
type Reissue struct {
	Time   time.Time `json:"time"`
	Agency string    `json:"agency"`
	ID     string    `json:"id"` // the new version's identifier
	// Supersedes is the identifier of the version replaced; from this
	// event on it is superseded (revoked in the status list).
	Supersedes string `json:"supersedes"`
	Credential Digest `json:"credential_sm3"` // SM3 of the new credential
	// Superseded is SM3 of the replaced version's credential.
	Superseded Digest `json:"superseded_sm3"`
	// From is the replaced version's status before: valid or suspended.
	From     Status     `json:"from"`
	Reason   string     `json:"reason"` // reason code, 变更
	Operator Commitment `json:"operator"`
}

// StatusChange records a licence suspended (valid → suspended),
// reinstated (suspended → valid) or revoked (valid or suspended →
// revoked). The change reaches the licence's device copies.
type StatusChange struct {
	Time       time.Time `json:"time"`
	Agency     string    `json:"agency"` // the licence's issuing agency
	ID         string    `json:"id"`
	Credential Digest    `json:"credential_sm3"`
	From       Status    `json:"from"`
	To         Status    `json:"to"`
	// Reason is the agency's reason code (注销, 吊销, 撤销, 遗失, 损毁,
	// 暂扣, 核查, 其他); empty for a reinstatement.
	Reason   string     `json:"reason"`
	Operator Commitment `json:"operator"`
}

// Unbind records one device copy of a licence revoked because the device
// was lost; the licence and its other copies are unchanged.
type Unbind struct {
	Time   time.Time `json:"time"`
	Agency string    `json:"agency"`
	// ID is the copy's identifier, licence#tag, where tag is derived from
	// the licence and the device key and links no two licences.
	ID         string     `json:"id"`
	Credential Digest     `json:"credential_sm3"` // SM3 of the copy's credential
	From       Status     `json:"from"`           // the copy's status before
	Reason     string     `json:"reason"`         // 遗失
	Operator   Commitment `json:"operator"`
}

// Claim records a copy of a licence issued to a holder's device: the
// holder proved the claim code and a device key, and got a credential
// bound to it. No operator acted.
type Claim struct {
	Time       time.Time `json:"time"`
	Agency     string    `json:"agency"`
	ID         string    `json:"id"` // the copy's identifier, licence#tag
	Credential Digest    `json:"credential_sm3"`
	// Device commits to the device's public key (33-byte compressed).
	// Published in the clear it would link every licence on one phone.
	Device Commitment `json:"device"`
}

// SealMade records a GB/T 38540 electronic seal made by an agency.
type SealMade struct {
	Time   time.Time `json:"time"`
	Agency string    `json:"agency"` // the maker
	ESID   string    `json:"esid"`   // the seal's 电子印章标识符
	Seal   Digest    `json:"seal_sm3"`
	// HolderCode and HolderName commit to the holder's code and name: for
	// a personal seal (法定代表人名章) a resident ID and a person's name.
	HolderCode Commitment `json:"holder_code"`
	HolderName Commitment `json:"holder_name"`
	Operator   Commitment `json:"operator"`
}

// SealRevoked records a seal revoked; the trust bundle lists it from then.
type SealRevoked struct {
	Time     time.Time  `json:"time"`
	Agency   string     `json:"agency"` // the maker
	ESID     string     `json:"esid"`
	Reason   string     `json:"reason"` // 遗失, 停用, 单位注销 …
	Operator Commitment `json:"operator"`
}

// KeyRotated records an agency's signing key replaced: the new key signs
// from now on, the previous one is retired (what it signed stays valid).
type KeyRotated struct {
	Time     time.Time  `json:"time"`
	Agency   string     `json:"agency"`
	KeyID    string     `json:"key_id"`   // the new key
	Previous string     `json:"previous"` // the key retired
	Operator Commitment `json:"operator"`
}

// KeyCompromised records an agency key declared compromised since a
// time: counters accept only the QR cores in its genuine set.
type KeyCompromised struct {
	Time   time.Time `json:"time"`
	Agency string    `json:"agency"`
	KeyID  string    `json:"key_id"`
	Since  time.Time `json:"since"`
	// Genuine is SM3 of the genuine set: every QR core the issuer signed
	// with the key before Since. The trust bundle names the same digest.
	Genuine  Digest     `json:"genuine_sm3"`
	Operator Commitment `json:"operator"`
}

func (*Issue) Kind() Kind          { return KindIssue }
func (*Reissue) Kind() Kind        { return KindReissue }
func (*StatusChange) Kind() Kind   { return KindStatus }
func (*Unbind) Kind() Kind         { return KindUnbind }
func (*Claim) Kind() Kind          { return KindClaim }
func (*SealMade) Kind() Kind       { return KindSealMade }
func (*SealRevoked) Kind() Kind    { return KindSealRevoked }
func (*KeyRotated) Kind() Kind     { return KindKeyRotated }
func (*KeyCompromised) Kind() Kind { return KindKeyCompromised }

func (e *Issue) Head() Head        { return Head{e.Time, e.Agency, e.ID} }
func (e *Reissue) Head() Head      { return Head{e.Time, e.Agency, e.ID} }
func (e *StatusChange) Head() Head { return Head{e.Time, e.Agency, e.ID} }
func (e *Unbind) Head() Head       { return Head{e.Time, e.Agency, e.ID} }
func (e *Claim) Head() Head        { return Head{e.Time, e.Agency, e.ID} }
func (e *SealMade) Head() Head     { return Head{e.Time, e.Agency, e.ESID} }
func (e *SealRevoked) Head() Head  { return Head{e.Time, e.Agency, e.ESID} }
func (e *KeyRotated) Head() Head   { return Head{e.Time, e.Agency, e.KeyID} }
func (e *KeyCompromised) Head() Head {
	return Head{e.Time, e.Agency, e.KeyID}
}

// The fields methods list each kind's fields in encoding order, after
// the format and kind bytes; codec makes encoding and decoding the same
// walk. docs/spec/events.md specifies these tables.

func (e *Issue) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("id", &e.ID, 1, MaxIDLen)
	c.digest("credential_sm3", (*[DigestSize]byte)(&e.Credential))
	c.commitment(FieldOperator, &e.Operator)
}

func (e *Reissue) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("id", &e.ID, 1, MaxIDLen)
	c.text("supersedes", &e.Supersedes, 1, MaxIDLen)
	c.digest("credential_sm3", (*[DigestSize]byte)(&e.Credential))
	c.digest("superseded_sm3", (*[DigestSize]byte)(&e.Superseded))
	c.status("from", &e.From)
	c.text("reason", &e.Reason, 0, MaxReasonLen)
	c.commitment(FieldOperator, &e.Operator)
}

func (e *StatusChange) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("id", &e.ID, 1, MaxIDLen)
	c.digest("credential_sm3", (*[DigestSize]byte)(&e.Credential))
	c.status("from", &e.From)
	c.status("to", &e.To)
	c.text("reason", &e.Reason, 0, MaxReasonLen)
	c.commitment(FieldOperator, &e.Operator)
}

func (e *Unbind) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("id", &e.ID, 1, MaxIDLen)
	c.digest("credential_sm3", (*[DigestSize]byte)(&e.Credential))
	c.status("from", &e.From)
	c.text("reason", &e.Reason, 0, MaxReasonLen)
	c.commitment(FieldOperator, &e.Operator)
}

func (e *Claim) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("id", &e.ID, 1, MaxIDLen)
	c.digest("credential_sm3", (*[DigestSize]byte)(&e.Credential))
	c.commitment(FieldDevice, &e.Device)
}

func (e *SealMade) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("esid", &e.ESID, 1, MaxIDLen)
	c.digest("seal_sm3", (*[DigestSize]byte)(&e.Seal))
	c.commitment(FieldHolderCode, &e.HolderCode)
	c.commitment(FieldHolderName, &e.HolderName)
	c.commitment(FieldOperator, &e.Operator)
}

func (e *SealRevoked) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("esid", &e.ESID, 1, MaxIDLen)
	c.text("reason", &e.Reason, 1, MaxReasonLen)
	c.commitment(FieldOperator, &e.Operator)
}

func (e *KeyRotated) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("key_id", &e.KeyID, 1, MaxIDLen)
	c.text("previous", &e.Previous, 1, MaxIDLen)
	c.commitment(FieldOperator, &e.Operator)
}

func (e *KeyCompromised) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("key_id", &e.KeyID, 1, MaxIDLen)
	c.time("since", &e.Since)
	c.digest("genuine_sm3", (*[DigestSize]byte)(&e.Genuine))
	c.commitment(FieldOperator, &e.Operator)
}

func (*Issue) check() error       { return nil }
func (*SealMade) check() error    { return nil }
func (*SealRevoked) check() error { return nil }

func (e *Reissue) check() error {
	if e.From != StatusValid && e.From != StatusSuspended {
		return fmt.Errorf("from: a %s licence cannot be re-issued", e.From)
	}
	if e.ID == e.Supersedes {
		return fmt.Errorf("supersedes: the licence supersedes itself")
	}
	return nil
}

func (e *StatusChange) check() error {
	switch {
	case e.From == StatusValid && e.To == StatusSuspended,
		e.From == StatusSuspended && e.To == StatusValid,
		e.From != StatusRevoked && e.To == StatusRevoked:
		return nil
	}
	return fmt.Errorf("to: no change from %s to %s", e.From, e.To)
}

func (e *Unbind) check() error {
	if !strings.Contains(e.ID, "#") {
		return fmt.Errorf("id: %q is not a device copy (licence#tag)", e.ID)
	}
	if e.From == StatusRevoked {
		return fmt.Errorf("from: the copy is already revoked")
	}
	return nil
}

func (e *Claim) check() error {
	if !strings.Contains(e.ID, "#") {
		return fmt.Errorf("id: %q is not a device copy (licence#tag)", e.ID)
	}
	return nil
}

func (e *KeyRotated) check() error {
	if e.KeyID == e.Previous {
		return fmt.Errorf("previous: the key replaces itself")
	}
	return nil
}

func (e *KeyCompromised) check() error {
	if e.Since.After(e.Time) {
		return fmt.Errorf("since: %v is after the event's time %v", e.Since, e.Time)
	}
	return nil
}

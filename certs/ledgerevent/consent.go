package ledgerevent

import (
	"fmt"
	"strings"
	"time"
)

// Kinds of format 2 for 授权用证 (docs/consent.md §8).
const (
	KindRPRegistered    Kind = 10 // a relying party was registered, or its registration replaced
	KindRPStatus        Kind = 11 // a relying party was suspended, resumed or removed
	KindGrant           Kind = 12 // a holder granted a relying party fields of a licence copy
	KindGrantUse        Kind = 13 // a relying party fetched a grant's credential
	KindGrantRevoked    Kind = 14 // a grant was ended by the holder or the relying party
	KindCounterVerified Kind = 15 // a counter verified a licence and uploaded its receipt
)

// FieldLicence names the commitment to a licence copy's identifier (or
// a licence's, for a static QR) in grant and counter-verified events.
const FieldLicence = "licence"

// Limits of the 授权用证 texts, in bytes.
const (
	MaxRPLen      = 64   // a relying-party id: 1–64 of [a-z0-9-]
	MaxMatterLen  = 64   // a service matter's code
	MaxFieldsLen  = 1024 // a grant's field keys joined by ','
	MaxVerdictLen = 32   // a counter's verdict, e.g. VALID
	MaxCounterLen = 256  // a counter's display name
)

// RPState is a relying party's state as rp-status records it.
type RPState uint8

// Relying-party states.
const (
	RPActive    RPState = 1
	RPSuspended RPState = 2
	RPRemoved   RPState = 3
)

var rpStateNames = [...]string{RPActive: "active", RPSuspended: "suspended", RPRemoved: "removed"}

// Valid reports whether s is a known state.
func (s RPState) Valid() bool { return s > 0 && int(s) < len(rpStateNames) }

func (s RPState) String() string {
	if s.Valid() {
		return rpStateNames[s]
	}
	return fmt.Sprintf("rp-state(%d)", uint8(s))
}

// MarshalText gives the state's name.
func (s RPState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a state's name.
func (s *RPState) UnmarshalText(b []byte) error {
	v, err := enumFromText(rpStateNames[:], b, "relying-party state")
	*s = RPState(v)
	return err
}

// GrantUseLimit is how often a grant's credential may be fetched.
type GrantUseLimit uint8

// Grant uses.
const (
	UseOnce   GrantUseLimit = 1
	UseRepeat GrantUseLimit = 2
)

var useNames = [...]string{UseOnce: "once", UseRepeat: "repeat"}

// Valid reports whether u is a known use.
func (u GrantUseLimit) Valid() bool { return u > 0 && int(u) < len(useNames) }

func (u GrantUseLimit) String() string {
	if u.Valid() {
		return useNames[u]
	}
	return fmt.Sprintf("use(%d)", uint8(u))
}

// MarshalText gives the use's name.
func (u GrantUseLimit) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText parses a use's name.
func (u *GrantUseLimit) UnmarshalText(b []byte) error {
	v, err := enumFromText(useNames[:], b, "grant use")
	*u = GrantUseLimit(v)
	return err
}

// RevokedBy says who ended a grant.
type RevokedBy uint8

// Who ends grants.
const (
	ByHolder       RevokedBy = 1
	ByRelyingParty RevokedBy = 2
)

var byNames = [...]string{ByHolder: "holder", ByRelyingParty: "rp"}

// Valid reports whether b is known.
func (b RevokedBy) Valid() bool { return b > 0 && int(b) < len(byNames) }

func (b RevokedBy) String() string {
	if b.Valid() {
		return byNames[b]
	}
	return fmt.Sprintf("by(%d)", uint8(b))
}

// MarshalText gives the name.
func (b RevokedBy) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText parses a name.
func (b *RevokedBy) UnmarshalText(t []byte) error {
	v, err := enumFromText(byNames[:], t, "revoked-by")
	*b = RevokedBy(v)
	return err
}

func enumFromText(names []string, b []byte, what string) (uint8, error) {
	for i, n := range names {
		if n != "" && n == string(b) {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("ledgerevent: unknown %s %q", what, b)
}

// RPRegistered records a relying party registered, or its registration
// replaced (same id). Registrations are public; the event fixes which.
type RPRegistered struct {
	Time   time.Time `json:"time"`
	Agency string    `json:"agency"` // the party's org code
	RP     string    `json:"rp"`     // the relying-party id
	// Key is SM3 of the DER SubjectPublicKeyInfo of the party's key.
	Key Digest `json:"key_sm3"`
	// Registration is SM3 of the registration's canonical JSON.
	Registration Digest     `json:"registration_sm3"`
	Operator     Commitment `json:"operator"`
}

// RPStatus records a relying party suspended, resumed (active again) or
// removed for ever.
type RPStatus struct {
	Time     time.Time  `json:"time"`
	Agency   string     `json:"agency"` // the party's org code
	RP       string     `json:"rp"`
	State    RPState    `json:"state"`  // the state after
	Reason   string     `json:"reason"` // the admin's reason, may be empty
	Operator Commitment `json:"operator"`
}

// Grant records a holder's consent turned into a grant. The copy appears
// only as a commitment: its identifier is printed on the licence, and in
// the clear it would link the licence to every service it was used at.
type Grant struct {
	Time     time.Time     `json:"time"`
	Agency   string        `json:"agency"` // the licence's issuing agency
	Grant    string        `json:"grant"`  // the grant id
	RP       string        `json:"rp"`
	Matter   string        `json:"matter"`  // the service matter's code
	Licence  Commitment    `json:"licence"` // commits to the copy identifier licence#tag
	Fields   string        `json:"fields"`  // the granted field keys, joined by ','
	NotAfter time.Time     `json:"not_after"`
	Use      GrantUseLimit `json:"use"`
	// Consent is SM3 of the holder's consent JWS.
	Consent Digest `json:"consent_sm3"`
}

// GrantUse records a relying party fetching a grant's credential.
type GrantUse struct {
	Time   time.Time `json:"time"`
	Agency string    `json:"agency"` // the licence's issuing agency
	Grant  string    `json:"grant"`
	RP     string    `json:"rp"`
}

// GrantRevoked records a grant ended before its time.
type GrantRevoked struct {
	Time   time.Time `json:"time"`
	Agency string    `json:"agency"` // the licence's issuing agency
	Grant  string    `json:"grant"`
	RP     string    `json:"rp"`
	By     RevokedBy `json:"by"`
}

// CounterVerified records one verification at a counter, from its
// uploaded receipt.
type CounterVerified struct {
	Time    time.Time `json:"time"`    // when the receipt was accepted
	Agency  string    `json:"agency"`  // the licence's issuing agency
	Receipt string    `json:"receipt"` // the receipt id
	Counter string    `json:"counter"` // the counter's token subject, its display name
	Verdict string    `json:"verdict"` // the counter's verdict, e.g. VALID
	At      time.Time `json:"at"`      // when the counter verified
	// Licence commits to the copy identifier, or to the licence
	// identifier for a static QR.
	Licence Commitment `json:"licence"`
}

func (*RPRegistered) Kind() Kind    { return KindRPRegistered }
func (*RPStatus) Kind() Kind        { return KindRPStatus }
func (*Grant) Kind() Kind           { return KindGrant }
func (*GrantUse) Kind() Kind        { return KindGrantUse }
func (*GrantRevoked) Kind() Kind    { return KindGrantRevoked }
func (*CounterVerified) Kind() Kind { return KindCounterVerified }

func (e *RPRegistered) Head() Head    { return Head{e.Time, e.Agency, e.RP} }
func (e *RPStatus) Head() Head        { return Head{e.Time, e.Agency, e.RP} }
func (e *Grant) Head() Head           { return Head{e.Time, e.Agency, e.Grant} }
func (e *GrantUse) Head() Head        { return Head{e.Time, e.Agency, e.Grant} }
func (e *GrantRevoked) Head() Head    { return Head{e.Time, e.Agency, e.Grant} }
func (e *CounterVerified) Head() Head { return Head{e.Time, e.Agency, e.Receipt} }

func (e *RPRegistered) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("rp", &e.RP, 1, MaxRPLen)
	c.digest("key_sm3", (*[DigestSize]byte)(&e.Key))
	c.digest("registration_sm3", (*[DigestSize]byte)(&e.Registration))
	c.commitment(FieldOperator, &e.Operator)
}

func (e *RPStatus) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("rp", &e.RP, 1, MaxRPLen)
	c.enum("state", (*uint8)(&e.State), uint8(RPActive), uint8(RPRemoved))
	c.text("reason", &e.Reason, 0, MaxReasonLen)
	c.commitment(FieldOperator, &e.Operator)
}

func (e *Grant) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("grant", &e.Grant, 1, MaxIDLen)
	c.text("rp", &e.RP, 1, MaxRPLen)
	c.text("matter", &e.Matter, 1, MaxMatterLen)
	c.commitment(FieldLicence, &e.Licence)
	c.text("fields", &e.Fields, 1, MaxFieldsLen)
	c.time("not_after", &e.NotAfter)
	c.enum("use", (*uint8)(&e.Use), uint8(UseOnce), uint8(UseRepeat))
	c.digest("consent_sm3", (*[DigestSize]byte)(&e.Consent))
}

func (e *GrantUse) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("grant", &e.Grant, 1, MaxIDLen)
	c.text("rp", &e.RP, 1, MaxRPLen)
}

func (e *GrantRevoked) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("grant", &e.Grant, 1, MaxIDLen)
	c.text("rp", &e.RP, 1, MaxRPLen)
	c.enum("by", (*uint8)(&e.By), uint8(ByHolder), uint8(ByRelyingParty))
}

func (e *CounterVerified) fields(c *codec) {
	c.time("time", &e.Time)
	c.text("agency", &e.Agency, 1, MaxAgencyLen)
	c.text("receipt", &e.Receipt, 1, MaxIDLen)
	c.text("counter", &e.Counter, 1, MaxCounterLen)
	c.text("verdict", &e.Verdict, 1, MaxVerdictLen)
	c.time("at", &e.At)
	c.commitment(FieldLicence, &e.Licence)
}

func (*RPRegistered) check() error    { return nil }
func (*GrantUse) check() error        { return nil }
func (*GrantRevoked) check() error    { return nil }
func (*CounterVerified) check() error { return nil }

// RPStatus has no transition rule: the event records the state after,
// and an admin may replay suspend or resume.
func (*RPStatus) check() error { return nil }

func (e *Grant) check() error {
	seen := make(map[string]bool)
	for _, k := range strings.Split(e.Fields, ",") {
		if !fieldKey(k) {
			return fmt.Errorf("fields: %q is not a field key ([a-z0-9_]+)", k)
		}
		if seen[k] {
			return fmt.Errorf("fields: %q twice", k)
		}
		seen[k] = true
	}
	return nil
}

func fieldKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// RPRegistered commits to the operator's token subject.
func (a *AuditKey) RPRegistered(e RPRegistered, operator string) *RPRegistered {
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}

// RPStatus commits to the operator's token subject.
func (a *AuditKey) RPStatus(e RPStatus, operator string) *RPStatus {
	a.commit(&e, &e.Operator, FieldOperator, []byte(operator))
	return &e
}

// Grant commits to the copy identifier licence#tag; the salt's subject
// is the grant id.
func (a *AuditKey) Grant(e Grant, licence string) *Grant {
	a.commit(&e, &e.Licence, FieldLicence, []byte(licence))
	return &e
}

// CounterVerified commits to the copy identifier (or the licence
// identifier, for a static QR); the salt's subject is the receipt id.
func (a *AuditKey) CounterVerified(e CounterVerified, licence string) *CounterVerified {
	a.commit(&e, &e.Licence, FieldLicence, []byte(licence))
	return &e
}

package state

import "time"

// What the state keeps for 授权用证 (docs/consent.md): relying parties,
// their requests, the grants holders make, the ledger events about each
// licence copy (its uses) and the counter receipts taken. Requests are
// the state's alone and written by the Store; the rest ride the ledger
// event that records them, in a Tx.

// PartyState is a relying party's state.
type PartyState string

// The states of a relying party; a removed party never changes again.
const (
	PartyActive    PartyState = "active"
	PartySuspended PartyState = "suspended"
	PartyRemoved   PartyState = "removed"
)

// RelyingParty is a relying party's registration as the state keeps it.
type RelyingParty struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	OrgCode  string     `json:"org_code"`
	OrgName  string     `json:"org_name"`
	Key      []byte     `json:"key"` // DER SubjectPublicKeyInfo
	Callback string     `json:"callback,omitempty"`
	Matters  []Matter   `json:"matters"`
	State    PartyState `json:"state"`
	// VoidBefore is the party's last suspension (zero if never): a grant
	// created before it is void for ever. It only moves forward.
	VoidBefore time.Time `json:"void_before,omitzero"`
	// LedgerIndex is the ledger index of the last event that changed
	// the registration (set by the Tx).
	LedgerIndex uint64 `json:"ledger_index"`
}

// Matter is a service matter (事项) a party is registered for.
type Matter struct {
	Code    string        `json:"code"`
	Name    string        `json:"name"`
	Classes []MatterClass `json:"classes"`
}

// MatterClass is a licence class a matter asks for, with its fields.
type MatterClass struct {
	Class  string        `json:"class"`
	Fields []MatterField `json:"fields"`
}

// MatterField is a field a matter may ask for, and why.
type MatterField struct {
	Key     string `json:"key"`
	Purpose string `json:"purpose"`
}

// GrantUse is how often a grant's credential may be fetched.
type GrantUse string

// The uses of a grant.
const (
	UseOnce   GrantUse = "once"
	UseRepeat GrantUse = "repeat"
)

// Answer is what became of a request.
type Answer string

// The answers to a request. A pending request past its Expires is
// expired; the state does not write that.
const (
	AnswerPending Answer = ""
	AnswerGranted Answer = "granted"
	AnswerRefused Answer = "refused"
)

// Request is a relying party's request for a grant. Requests are not
// ledger events and live minutes: PruneRequests deletes them.
type Request struct {
	ID string `json:"id"`
	RP string `json:"rp"`
	// JWS is the signed request (compact JWS by the ledger key).
	JWS      string        `json:"jws"`
	Matter   string        `json:"matter"`
	Class    string        `json:"class"`
	Fields   []string      `json:"fields"`
	Duration time.Duration `json:"duration,format:nano"`
	Use      GrantUse      `json:"use"`
	// State is the party's opaque value, kept as it was given.
	State   string    `json:"state,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Answer, AnsweredAt and Grant are set once, by the grant's Tx or by
	// RefuseRequest.
	Answer     Answer    `json:"answer,omitempty"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	Grant      string    `json:"grant,omitempty"`
}

// RevokedBy is who ended a grant; the values are those of the
// grant-revoked event's by.
type RevokedBy uint8

// Who may end a grant.
const (
	ByHolder RevokedBy = 1
	ByParty  RevokedBy = 2
)

// Grant is a holder's consent to one relying party, with the credential
// made for it.
type Grant struct {
	ID      string `json:"id"`
	Request string `json:"request"`
	RP      string `json:"rp"`
	// Copy is the bound licence copy granted (licence#tag).
	Copy string `json:"copy"`
	// Agency is the licence's agency.
	Agency   string    `json:"agency"`
	Matter   string    `json:"matter"`
	Fields   []string  `json:"fields"`
	NotAfter time.Time `json:"not_after"`
	Use      GrantUse  `json:"use"`
	// Consent is the holder's consent JWS; RequestJWS the signed request
	// it answers (kept here, as requests are pruned).
	Consent    string `json:"consent"`
	RequestJWS string `json:"request_jws"`
	// Credential is the SD-JWT's issuer JWT; Disclosures are the
	// granted fields' disclosures, in the order sent.
	Credential  string   `json:"credential"`
	Disclosures []string `json:"disclosures"`
	// KeyID is the hex key ID of the agency key that signed Credential
	// ("" if unknown): Tx.PutGrant refuses a retired or fenced one.
	KeyID   string    `json:"kid,omitempty"`
	Created time.Time `json:"created"`
	// RevokedAt and RevokedBy are set once, by Tx.RevokeGrant.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RevokedBy RevokedBy `json:"revoked_by,omitzero"`
	// Fetches counts the credential's fetches (Tx.UseGrant).
	Fetches uint64 `json:"fetches"`
	// LedgerIndex is the grant event's (set by Tx.PutGrant).
	LedgerIndex uint64 `json:"ledger_index"`
}

// Consents reads and keeps what 授权用证 needs outside the ledger's
// transaction. Writes are durable before returning.
type Consents interface {
	// RelyingParty returns a party's registration (ErrNotFound if none).
	RelyingParty(id string) (*RelyingParty, error)
	// RelyingParties lists every registration, removed ones included,
	// in identifier order.
	RelyingParties() ([]*RelyingParty, error)

	// PutRequest stores a new request (ErrExists if the identifier is
	// taken). Its Answer must be pending and its Expires set.
	PutRequest(r *Request) error
	// Request returns a request (ErrNotFound if none, or pruned).
	Request(id string) (*Request, error)
	// RefuseRequest marks a pending request refused at at, in one
	// atomic step across processes: ErrNotFound if there is no such
	// request, ErrExists if it was already answered (granted or
	// refused). The caller checks expiry.
	RefuseRequest(id string, at time.Time) error
	// PruneRequests deletes up to max requests that expired before now
	// (answered or not), oldest first, and returns how many it deleted.
	PruneRequests(now time.Time, max int) (int, error)

	// Grant returns a grant (ErrNotFound if none).
	Grant(id string) (*Grant, error)
	// GrantsOfCopy lists a licence copy's grants in ledger order.
	GrantsOfCopy(copy string) ([]*Grant, error)
	// GrantsOfParty returns up to limit of a party's grants whose
	// LedgerIndex is at least from, in ledger order, and the from of
	// the next page (0 when there is none).
	GrantsOfParty(rp string, from uint64, limit int) (gs []*Grant, next uint64, err error)

	// Uses lists the ledger indexes of the events about a licence copy
	// (Tx.PutGrant, UseGrant, RevokeGrant and AddUse), in increasing
	// order; none is an empty list, not an error.
	Uses(copy string) ([]uint64, error)
}

// ConsentTx is the part of Tx that records 授权用证's ledger events. As
// for every Tx method, a change is written exactly when its ledger batch
// commits, and a refusal (an error) drops only the caller's change. On
// a Shared backend the refusals hold across processes: of two processes
// racing, exactly one succeeds and the other is refused (through the
// ledger's RejectedError, as for Insert), with the same error.
// Every method but AddUse moves the watermark past its index, as Insert
// does.
type ConsentTx interface {
	// PutRelyingParty writes a registration, made or changed by the
	// rp-registered event at index, setting rp.LedgerIndex to index.
	// With create it makes a new party (in rp.State, normally active)
	// and fails with ErrExists if the identifier was ever taken (removed
	// parties keep theirs). Without, it replaces the registration (names,
	// key, callback, matters) of one and fails with ErrNotFound if there
	// is none and ErrRevoked if it was removed; the stored State and
	// VoidBefore are kept whatever rp holds (a suspension committed by
	// another process since the caller's read stays), and rp's are set
	// to them where the backend knows them at once.
	PutRelyingParty(rp *RelyingParty, create bool, index uint64) error
	// SetPartyState changes party id's state to st, by the rp-status
	// event at index, leaving its registration as stored. Suspending or
	// removing it moves its VoidBefore to at, never back (a later
	// suspension already recorded stays); resuming keeps VoidBefore.
	// ErrNotFound if there is no such party, ErrRevoked if it was
	// removed (it never changes again).
	SetPartyState(id string, st PartyState, at time.Time, index uint64) error
	// PutGrant writes a new grant, made by the grant event at index: it
	// sets g.LedgerIndex to index, marks request g.Request granted (its
	// Grant g.ID, AnsweredAt g.Created) and adds index to g.Copy's uses.
	// It fails with ErrExists if the grant identifier is taken or the
	// request was already answered, ErrNotFound if the request is not
	// stored, and ErrKeyRetired if g.KeyID was retired by an earlier
	// event or is fenced (as Insert).
	PutGrant(g *Grant, index uint64) error
	// UseGrant counts one fetch of grant id, recorded by the grant-use
	// event at index, and adds index to its copy's uses, after checking
	// in the same step, in this order, that the grant is not revoked
	// (else ErrRevoked), for a once grant not yet fetched (else
	// ErrExists), its party is active (else ErrSuspended), the grant was
	// created at or after the party's VoidBefore (else ErrRevoked), and
	// its copy is valid and bound and the copy's licence valid (else
	// ErrNotValid; a missing party or record refuses alike).
	// ErrNotFound if there is no such grant. The caller checks NotAfter
	// and the licence's end of validity, which do not change.
	UseGrant(id string, index uint64) error
	// RevokeGrant ends grant id at at, by by, recorded by the
	// grant-revoked event at index, and adds index to its copy's uses.
	// ErrNotFound if there is no such grant, ErrRevoked if it was
	// already revoked (the first revocation stays).
	RevokeGrant(id string, at time.Time, by RevokedBy, index uint64) error
	// AddUse adds the ledger event at index (a claim, a counter
	// verification) to the uses of copy, a licence copy or (for a
	// verification of a static QR) a licence. Adding the same index
	// twice keeps one.
	AddUse(copy string, index uint64) error
	// TakeReceipt takes a counter receipt's identifier for the
	// counter-verified event at index; ErrExists if it was taken before
	// (uploads are idempotent).
	TakeReceipt(id string, index uint64) error
}

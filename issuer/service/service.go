package service

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ident"
	"elicense/certs/ledgerevent"
	"elicense/certs/qr"
	"elicense/internal/gm"
	"elicense/issuer/pki"
	"elicense/issuer/state"
)

// Ledger is the part of the ledger the service needs
// (*ledger.Log[state.Tx] over the backend that keeps the state).
// AppendWith appends es and runs fn, the state's side of the change, in
// the same transaction, with the index of the first entry; it returns
// only once both are durable, and if fn fails nothing is written. The
// service calls it with a context that a client's disconnect does not
// cancel: once a change is on its way to the ledger it completes.
// Entries are certs/ledgerevent encodings; the ledger does not read them.
type Ledger interface {
	AppendWith(ctx context.Context, es [][]byte, fn func(tx state.Tx, first uint64) error) (first uint64, err error)
	Entry(index uint64) ([]byte, error)
	Size() uint64
}

// StatusLists allocates status-list positions and records statuses in
// them. Allocate picks a random free position in one of the agency's
// lists; Set and Release may be called for positions restored at start.
type StatusLists interface {
	Allocate(agency string) (list string, index uint64, err error)
	Set(list string, index uint64, s state.Status) error
	Release(list string, index uint64)
	URI(list string) string
}

// Options wire a Service.
type Options struct {
	Catalog *catalog.Catalog // nil means catalog.Default()
	PKI     *pki.PKI
	Store   state.Store
	Ledger  Ledger
	Status  StatusLists
	// Audit derives the salts of the ledger events' commitments to
	// personal data (certs/ledgerevent). Required.
	Audit  *ledgerevent.AuditKey
	Now    func() time.Time // nil means time.Now
	Logger *slog.Logger     // nil discards
	// HolderMergeAt is how many new licences wait in the store's holder
	// log before a merge into the holder index; zero means
	// DefaultHolderMergeAt.
	HolderMergeAt int
	// Passphrase decrypts the root key of PKI when an agency key is
	// rotated (RotateKey, CompromiseKey of an active key) and encrypts the
	// new key; nil refuses rotations.
	Passphrase []byte
	// BaseURL is the issuer's public base URL: a signed request's iss,
	// and the base of its links (docs/consent.md §4). Empty means
	// http://127.0.0.1.
	BaseURL string
}

// Service issues and changes licences. Its methods are safe for
// concurrent use.
type Service struct {
	cat    *catalog.Catalog
	store  state.Store
	ledger Ledger
	status StatusLists
	audit  *ledgerevent.AuditKey
	now    func() time.Time
	log    *slog.Logger
	locks  [64]sync.Mutex // serialise changes to one licence

	chal challenges
	// keys is the PKI and the agencies' licence-face seals, replaced as a
	// whole when a key changes (keys.go). A mutating call reads it under
	// opMu's read lock, so it signs with one keyring throughout.
	keys       atomic.Pointer[keyring]
	keyMu      sync.Mutex // serialises key changes
	passphrase []byte
	hk         struct { // housekeeping goroutine (claim pruning, holder-log merges)
		once       sync.Once
		stop, done chan struct{}
		merge      chan struct{} // a holder-log merge is due (made by New)
		mergeAt    int
	}

	replica replica // when other processes share the store (replica.go)

	baseURL  string    // Options.BaseURL
	keyCache keyCache  // parsed proof keys (relyingparty.go)
	notifier *notifier // relying parties' callbacks (callback.go)

	opMu   sync.RWMutex // held for reading by every mutating call; for writing by Close and a key rotation
	closed bool
}

// begin admits a mutating call unless the service is closing.
func (s *Service) begin() (end func(), err error) {
	s.opMu.RLock()
	if s.closed {
		s.opMu.RUnlock()
		return nil, &Error{Kind: ErrUnavailable, Msg: "the service is shutting down"}
	}
	return s.opMu.RUnlock, nil
}

// Close waits for in-flight changes to finish, refuses new ones, and
// keeps a snapshot of the status lists (when they can make one) so the
// next start need not read every record. It does not close the store or
// the ledger.
func (s *Service) Close() error {
	s.opMu.Lock()
	defer s.opMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.stopHousekeeping()
	s.notifier.close()
	if sn, ok := s.status.(snapshotter); ok {
		data, err := sn.Snapshot()
		at := s.ledger.Size()
		if s.replica.shared != nil {
			// What the lists hold of the other replicas' changes: those
			// whose records it has followed (replica.go).
			at = s.replica.from
		}
		if err == nil {
			err = s.store.PutStatusSnapshot(at, data)
		}
		if err != nil {
			// Nothing is lost: the next start rebuilds from the records.
			s.log.Warn("status lists not saved; the next start rebuilds them", "err", err)
		}
	}
	return nil
}

// snapshotter is a StatusLists that can save and restore its state.
// Restore replaces it wholly or, on an error, not at all.
type snapshotter interface {
	Snapshot() ([]byte, error)
	Restore(data []byte) error
}

// New returns a service. Call Recover before serving requests.
func New(o Options) (*Service, error) {
	if o.PKI == nil || o.Store == nil || o.Ledger == nil || o.Status == nil || o.Audit == nil {
		return nil, errors.New("service: PKI, Store, Ledger, Status and Audit are required")
	}
	s := &Service{cat: o.Catalog, store: o.Store, ledger: o.Ledger, status: o.Status, audit: o.Audit, now: o.Now, log: o.Logger, passphrase: o.Passphrase}
	s.keys.Store(&keyring{pki: o.PKI})
	s.replica.shared, _ = o.Store.(state.Shared)
	s.hk.merge, s.hk.mergeAt = make(chan struct{}, 1), o.HolderMergeAt
	if s.hk.mergeAt <= 0 {
		s.hk.mergeAt = DefaultHolderMergeAt
	}
	if s.cat == nil {
		s.cat = catalog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.baseURL = strings.TrimSuffix(o.BaseURL, "/")
	if s.baseURL == "" {
		s.baseURL = "http://127.0.0.1"
	}
	s.notifier = newNotifier(s.log)
	return s, nil
}

func (s *Service) lock(id string) func() {
	h := gm.SM3([]byte(id))
	m := &s.locks[h[0]%byte(len(s.locks))]
	m.Lock()
	return m.Unlock
}

// IssueRequest is one licence to issue.
type IssueRequest struct {
	Class     string            `json:"class"`            // key, type code or Chinese name
	Agency    string            `json:"agency,omitempty"` // defaults to the operator's
	Fields    map[string]string `json:"fields"`
	Number    string            `json:"number,omitempty"`     // 证照编号 as printed
	IssuedOn  string            `json:"issued_on,omitempty"`  // YYYY-MM-DD, default today
	ImportKey string            `json:"import_key,omitempty"` // at most MaxImportKey bytes
}

// MaxImportKey bounds an import key: an idempotency key names a row of an
// import, and a longer one is refused (ErrInvalid) rather than stored.
const MaxImportKey = 256

// Issued is the outcome of an issuance: the licence as stored, and what
// only the answer carries.
type Issued struct {
	*state.Record
	// ClaimCode is the holder's one-time claim code (领证码) and
	// ClaimExpires its expiry; the state keeps only the code's salted
	// hash, so they exist only here. Empty for an Existing licence.
	ClaimCode    string
	ClaimExpires time.Time
	// Existing reports that the import key had been used before: the
	// licence is the one issued then, and nothing was issued now.
	Existing bool
}

// Issue validates, signs and records one licence, returning it once the
// ledger holds the issuance, with a one-time claim code for the holder
// (only its hash is stored). A repeated ImportKey returns the licence
// already issued under it (safe re-runs of an import), without a claim
// code.
func (s *Service) Issue(ctx context.Context, op Operator, req IssueRequest) (*Issued, error) {
	end, err := s.begin()
	if err != nil {
		return nil, err
	}
	defer end()
	cl, ag, err := s.scope(op, req.Class, req.Agency)
	if err != nil {
		return nil, err
	}
	if len(req.ImportKey) > MaxImportKey {
		return nil, invalid("import_key", "import_key is longer than %d bytes", MaxImportKey)
	}
	if req.ImportKey != "" {
		// One attempt per key at a time: a retry waits for the attempt
		// it repeats, then sees its outcome.
		unlock := s.lock("import\x00" + ag.Code + "\x00" + req.ImportKey)
		defer unlock()
		if r, err := s.store.ByImportKey(ag.Code, req.ImportKey); err == nil {
			return &Issued{Record: r, Existing: true}, nil
		}
	}
	issuedOn := s.now()
	if req.IssuedOn != "" {
		if issuedOn, err = catalog.ParseIssuedOn(req.IssuedOn, issuedOn); err != nil {
			return nil, &Error{Kind: ErrInvalid, Field: "issued_on", Msg: "issued_on (颁证日期) must be a date from 1949-10-01 to today (China time)", Err: err}
		}
	}
	if req.Number, err = licenceNumber(cl, req.Number, req.Fields); err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		iss, err := s.issue(ctx, op, cl, ag, req, issuedOn)
		if err == nil || !s.retryable(err) {
			return iss, err
		}
		if req.ImportKey != "" {
			// Another replica may have issued under the same key.
			if r, err := s.store.ByImportKey(ag.Code, req.ImportKey); err == nil {
				return &Issued{Record: r, Existing: true}, nil
			}
		}
		if try == maxRetries && !errors.Is(err, state.ErrKeyRetired) || try == maxKeyRetries {
			return nil, err
		}
		if errors.Is(err, state.ErrKeyRetired) {
			// Another replica's rotation fenced the key: its new key is in
			// the PKI directory within moments (watchPKI, reloadKeys).
			time.Sleep(keyRetryWait << try)
			s.reloadKeys(true)
			if cl, ag, err = s.scope(op, req.Class, req.Agency); err != nil {
				return nil, err
			}
		}
	}
}

// licenceNumber is the 证照编号 a licence of cl is issued with: the
// class's number field, when it has one, which a number given must equal.
func licenceNumber(cl *catalog.Class, number string, fields map[string]string) (string, error) {
	if cl.NumberField == "" || fields[cl.NumberField] == "" || number == fields[cl.NumberField] {
		return number, nil // a missing field is the field's error, which validation gives
	}
	if number == "" {
		return fields[cl.NumberField], nil
	}
	return "", &Error{Kind: ErrInvalid, Field: "number", Msg: fmt.Sprintf("number (证照编号) %q is not the licence's %s field (%q): leave it out, it is taken from there", number, cl.NumberField, fields[cl.NumberField])}
}

// issue is one attempt at Issue, on a status position and serial of its
// own.
func (s *Service) issue(ctx context.Context, op Operator, cl *catalog.Class, ag *pki.Agency, req IssueRequest, issuedOn time.Time) (*Issued, error) {
	list, idx, err := s.status.Allocate(ag.Code)
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "no free status-list position", Err: err}
	}
	rec, err := s.build(cl, ag, req.Fields, issuedOn, req.Number, list, idx, 1, "", nil)
	if err != nil {
		s.status.Release(list, idx)
		return nil, err
	}
	rec.ImportKey = req.ImportKey
	claimExpires := s.now().Add(ClaimCodeTTL)
	secret, claim := newClaimTicket(rec.ID, claimExpires)
	put, err := s.store.Prepare(rec, claim)
	if err != nil {
		s.status.Release(list, idx)
		return nil, &Error{Kind: ErrConflict, Msg: "could not record the licence", Err: err}
	}
	ev := s.audit.Issue(ledgerevent.Issue{Time: s.now(), Agency: ag.Code, ID: rec.ID, Credential: mustHash(rec.CredentialHash)}, op.Subject)
	first, err := s.record(ctx, events{{ev, opAudit(op)}}, insert(put))
	if err != nil {
		s.status.Release(list, idx)
		return nil, err
	}
	s.log.Info("licence issued", "id", rec.ID, "class", cl.Key, "agency", ag.Code, "ledger_index", first, "operator", op.Subject)
	return &Issued{Record: rec, ClaimCode: claimCode(claim.Ticket, secret), ClaimExpires: claimExpires}, nil
}

// scope resolves the class and agency of a request and checks the
// operator may act on them and the agency's certificate allows the class.
func (s *Service) scope(op Operator, class, agency string) (*catalog.Class, *pki.Agency, error) {
	cl, ok := s.cat.Lookup(class)
	if !ok {
		return nil, nil, invalid("class", "unknown licence class %q", class)
	}
	if agency == "" {
		agency = op.Agency
	}
	if agency == "" {
		return nil, nil, invalid("agency", "no agency given")
	}
	ag, ok := s.pki().Agency(agency)
	if !ok {
		return nil, nil, invalid("agency", "unknown agency %q", agency)
	}
	if err := op.canAct(ag.Code, cl); err != nil {
		return nil, nil, err
	}
	if !ag.Policy.AllowsClass(cl) {
		return nil, nil, &Error{Kind: ErrForbidden, Field: "class", Msg: fmt.Sprintf("agency %s is not certified to issue %s", ag.Code, cl.Key)}
	}
	return cl, ag, nil
}

// build makes a signed record (not yet stored).
func (s *Service) build(cl *catalog.Class, ag *pki.Agency, fields map[string]string, issuedOn time.Time, number, list string, idx uint64, version int, serial string, device *ecdsa.PublicKey) (*state.Record, error) {
	if err := s.keyUsable(ag); err != nil {
		return nil, err
	}
	if serial == "" {
		v, err := s.nextSerial()
		if err != nil {
			return nil, err
		}
		serial = newSerial(issuedOn, v)
	}
	id := ident.LicenseID{TypeCode: cl.TypeCode, IssuerCode: ag.Code, Serial: serial, Version: version}
	iss := credential.Issuance{ID: id.String(), IssuerName: ag.Name, IssuerCode: ag.Code, IssuedOn: issuedOn, Number: number}
	if sl, ok := s.keys.Load().seals[ag.Code]; ok {
		iss.Seal = sl.ESID
	}
	// Dates of events and acts cannot be after the day of issuance: a
	// check with a clock, so the issuer's, not credential's.
	if err := cl.CheckIssueDay(fields, s.now()); err != nil {
		field := ""
		if ve := (*catalog.ValidationError)(nil); errors.As(err, &ve) && len(ve.Fields) > 0 {
			field = ve.Fields[0].Field
		}
		return nil, &Error{Kind: ErrInvalid, Field: field, Msg: "licence does not validate against class " + cl.Key, Err: err}
	}
	l, err := credential.NewLicense(cl, fields, iss)
	if err != nil {
		var ce *credential.Error
		field := ""
		if errors.As(err, &ce) {
			field = ce.Field
		}
		return nil, &Error{Kind: ErrInvalid, Field: field, Msg: "licence does not validate against class " + cl.Key, Err: err}
	}
	l.Status = &credential.StatusRef{URI: s.status.URI(list), Index: idx}
	l.Device = device
	jws, err := credential.Sign(l, credential.SignOptions{Catalog: s.cat, Signer: ag.Signer, KeyID: ag.KeyID, Now: s.now})
	if err != nil {
		return nil, &Error{Kind: ErrInvalid, Msg: "signing failed", Err: err}
	}
	h, err := qr.Build(l, jws, qr.BuildOptions{Catalog: s.cat, Signer: ag.Signer, KeyID: ag.KeyID, StatusList: list})
	if err != nil {
		return nil, &Error{Kind: ErrInvalid, Msg: "QR core failed", Err: err}
	}
	now := s.now()
	// h.Credential is the credential's SM3 in hex, as the ledger records it.
	return &state.Record{
		ID: l.ID, Class: cl.Key, Agency: ag.Code, HolderCode: l.HolderCode, HolderName: l.HolderName,
		Fields: l.Fields, Status: state.StatusValid, StatusList: list, StatusIndex: idx,
		Credential: jws, CredentialHash: h.Credential, Holding: h, IssuedAt: now, UpdatedAt: now,
		IssuedOn: l.IssuedOn.Format(credential.DateLayout), Number: number,
	}, nil
}

// newSerial is the GB/T 36904 serial: the issue date, then four base-36
// characters for the tenth of a second of the day it is made (UTC) and
// four of a counter that starts at a random value. Serials, and so
// identifiers, of a class and agency increase with time, so the store's
// B-trees take new licences at their right edge instead of rewriting a
// random page each (docs/performance.md, history); the
// counter (s.nextSerial: in blocks reserved in the backend when replicas
// share it) keeps them unique within the process, and a restart cannot
// repeat a tenth of a second. A collision anyway is refused by the state.
func newSerial(day time.Time, counter uint32) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	out := make([]byte, 0, 16)
	out = day.AppendFormat(out, "20060102")
	now := time.Now().UTC()
	tenths := (now.Hour()*3600+now.Minute()*60+now.Second())*10 + now.Nanosecond()/1e8
	for _, v := range [2]uint32{uint32(tenths), counter} {
		var b [4]byte
		for i := 3; i >= 0; i-- {
			b[i] = alphabet[v%36]
			v /= 36
		}
		out = append(out, b[:]...)
	}
	return string(out)
}

var serialCounter = func() *atomic.Uint32 {
	var c atomic.Uint32
	var b [4]byte
	rand.Read(b[:])
	c.Store(binary.BigEndian.Uint32(b[:]))
	return &c
}()

func mustHash(h string) ledgerevent.Digest {
	b, _ := hex.DecodeString(h)
	return ledgerevent.Digest(b)
}

// Get returns a licence the operator may read.
func (s *Service) Get(op Operator, id string) (*state.Record, error) {
	r, err := s.store.Get(id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, &Error{Kind: ErrNotFound, Field: "id", Msg: "no licence " + id}
	}
	if err != nil {
		return nil, &Error{Kind: ErrUnavailable, Msg: "reading the store", Err: err}
	}
	if err := op.canRead(r.Agency); err != nil {
		// Do not reveal that another agency's licence exists.
		return nil, &Error{Kind: ErrNotFound, Field: "id", Msg: "no licence " + id}
	}
	return r, nil
}

// Search lists licences the operator may read.
func (s *Service) Search(op Operator, q state.Query) ([]*state.Record, string, error) {
	if op.Role != RoleAdmin {
		q.Agency = op.Agency
	}
	if q.Class != "" {
		cl, ok := s.cat.Lookup(q.Class)
		if !ok {
			return nil, "", invalid("class", "unknown licence class %q", q.Class)
		}
		q.Class = cl.Key
	}
	switch q.Status {
	case "", state.StatusValid, state.StatusSuspended, state.StatusRevoked, state.StatusSuperseded:
	default:
		return nil, "", invalid("status", "unknown status %q", q.Status)
	}
	recs, next, err := s.store.Search(q)
	if errors.Is(err, state.ErrNotFound) {
		// A paging cursor names a licence; one that does not is the
		// client's mistake, not the store's.
		return nil, "", &Error{Kind: ErrInvalid, Field: "after", Msg: "the paging cursor after names no licence", Err: err}
	}
	if err != nil {
		return nil, "", &Error{Kind: ErrUnavailable, Msg: "reading the store", Err: err}
	}
	return recs, next, nil
}

// event is one ledger event and the personal values it commits to
// (field → value), which the state keeps for openings.
type event struct {
	ev    ledgerevent.Event
	audit map[string]string
}

type events []event

// opAudit is the personal value of an event whose only commitment is
// the operator.
func opAudit(op Operator) map[string]string {
	return map[string]string{ledgerevent.FieldOperator: op.Subject}
}

// record appends es to the ledger with the store's side of the change
// (fn) and the events' audit records in the same transaction, and
// returns the first entry's index once both are durable: the change is
// acknowledged, and visible to reads, only then. A refused store write
// (an identifier or import key taken) is a conflict; nothing is written.
func (s *Service) record(ctx context.Context, es events, fn func(tx state.Tx, first uint64) error) (uint64, error) {
	first, err := appendEvents(ctx, s.ledger, es, fn)
	if errors.Is(err, state.ErrKeyRetired) {
		s.reloadKeys(true)
	}
	if err != nil {
		return 0, err
	}
	if s.store.HolderLogLen() >= s.hk.mergeAt {
		select {
		case s.hk.merge <- struct{}{}:
		default:
		}
	}
	return first, nil
}

// appendEvents is record's ledger half: es encoded, appended to lg with
// fn and the audit records in one transaction.
func appendEvents(ctx context.Context, lg Ledger, es events, fn func(tx state.Tx, first uint64) error) (uint64, error) {
	raw := make([][]byte, len(es))
	for i, e := range es {
		b, err := ledgerevent.Encode(e.ev)
		if err != nil {
			return 0, &Error{Kind: ErrInvalid, Msg: "the ledger event does not encode", Err: err}
		}
		raw[i] = b
	}
	if ctx.Done() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	first, err := lg.AppendWith(ctx, raw, func(tx state.Tx, first uint64) error {
		if fn != nil {
			if err := fn(tx, first); err != nil {
				return err
			}
		}
		for i, e := range es {
			if e.audit == nil {
				continue // an event that commits to nothing personal
			}
			if err := tx.PutAudit(first+uint64(i), e.audit); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, state.ErrExists):
		return 0, &Error{Kind: ErrConflict, Msg: "could not record the change", Err: err}
	case errors.Is(err, state.ErrKeyRetired):
		return 0, &Error{Kind: ErrUnavailable, Msg: "another issuer process rotated the agency's signing key; this one loads the new key: try again", Err: err}
	case err != nil:
		return 0, &Error{Kind: ErrUnavailable, Msg: "ledger append failed", Err: err}
	}
	return first, nil
}

// insert is the state's side of an issuance: the licence p, issued by
// the entry at first.
func insert(p *state.Prepared) func(tx state.Tx, first uint64) error {
	return func(tx state.Tx, first uint64) error { return tx.Insert(p, first) }
}

func parseID(id string) (ident.LicenseID, error) {
	v, err := ident.ParseLicenseID(id)
	if err != nil {
		return v, &Error{Kind: ErrConflict, Msg: "stored identifier does not parse", Err: err}
	}
	return v, nil
}

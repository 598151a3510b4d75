package status

import (
	"crypto"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"elicense/certs/statuslist"
	"elicense/internal/gm"
	"elicense/issuer/state"
)

// Options configure a Manager.
type Options struct {
	BaseURL  string        // e.g. "http://127.0.0.1:8080"; lists live at BaseURL/v1/status/<id>
	ListSize int           // positions per list; zero means DefaultListSize
	Signer   crypto.Signer // the ledger/status key
	KeyID    string        // its key ID
	TTL      time.Duration // how long a counter may cache a list; zero means 5 minutes
	Validity time.Duration // a list's exp after signing; zero means 24 hours
	Now      func() time.Time
	Agencies []string // agency codes, to name the owner of lists restored from the store
}

// DefaultListSize is 2^20 positions (256 KiB of 2-bit entries) per list.
const DefaultListSize = 1 << 20

// ErrUnknownList means a list ID that this issuer does not have.
var ErrUnknownList = errors.New("status: unknown list")

// Manager is safe for concurrent use.
type Manager struct {
	o     Options
	mu    sync.Mutex
	lists map[string]*list
	open  map[string]*list // agency → list new positions come from
	count map[string]int   // agency → highest list number
}

type list struct {
	id      string
	agency  string
	num     int
	entries *statuslist.List
	alloc   *statuslist.Allocator
	version uint64 // bumped on every change
	signed  *published
	// history holds the lists as published at recent versions, so a
	// counter holding one of them fetches only a delta.
	history []snapshot
	deltas  map[[2]uint64][]byte // (from, to) → signed delta
}

type snapshot struct {
	version uint64
	entries *statuslist.List
	meta    statuslist.Meta
}

// historyLen is how many published versions a list keeps for deltas: at
// one publication per change at most every few seconds and a counter
// syncing a few times a day, older bases get the full list.
const historyLen = 16

type published struct {
	version uint64
	doc     []byte
	etag    string
	signed  time.Time
	exp     time.Time
}

// New returns an empty manager.
func New(o Options) *Manager {
	if o.ListSize <= 0 {
		o.ListSize = DefaultListSize
	}
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.Validity <= 0 {
		o.Validity = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Manager{o: o, lists: map[string]*list{}, open: map[string]*list{}, count: map[string]int{}}
}

// listID names an agency's n-th list briefly, since QR tokens carry it:
// the last five characters of the agency code and the list number.
func listID(agency string, n int) string {
	if len(agency) > 5 {
		agency = agency[len(agency)-5:]
	}
	return agency + strconv.Itoa(n)
}

func splitID(id string) (suffix string, n int) {
	i := len(id)
	for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
		i--
	}
	n, _ = strconv.Atoi(id[i:])
	return id[:i], n
}

func (m *Manager) newList(id, agency string, n int) (*list, error) {
	a, err := statuslist.NewAllocator(m.o.ListSize)
	if err != nil {
		return nil, err
	}
	l := &list{id: id, agency: agency, num: n, entries: statuslist.New(m.o.ListSize), alloc: a, version: m.nextVersion(0)}
	m.lists[id] = l
	m.count[agency] = max(m.count[agency], n)
	if cur := m.open[agency]; cur == nil || cur.num < n {
		m.open[agency] = l
	}
	return l, nil
}

// Allocate picks a uniformly random free position in the agency's newest
// list, opening a new list when it is full.
func (m *Manager) Allocate(agency string) (string, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.open[agency]
	if l == nil || l.alloc.Used() >= l.alloc.Size() {
		n := m.count[agency] + 1
		var err error
		if l, err = m.newList(listID(agency, n), agency, n); err != nil {
			return "", 0, err
		}
	}
	idx, err := l.alloc.Allocate()
	if err != nil {
		return "", 0, err
	}
	return l.id, uint64(idx), nil
}

// Release is called for a position whose issuance failed. The position
// stays reserved until the next start rebuilds the lists from the store's
// records; a few unused positions cost nothing.
func (m *Manager) Release(string, uint64) {}

var toList = map[state.Status]statuslist.Status{
	state.StatusValid:      statuslist.Valid,
	state.StatusRevoked:    statuslist.Revoked,
	state.StatusSuspended:  statuslist.Suspended,
	state.StatusSuperseded: statuslist.Superseded,
}

// Set records a licence's state at its position, creating the list and
// marking the position used when restoring at start.
func (m *Manager) Set(id string, idx uint64, s state.Status) error {
	v, ok := toList[s]
	if !ok {
		return fmt.Errorf("status: no list value for %q", s)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.lists[id]
	if l == nil {
		suffix, n := splitID(id)
		agency := ""
		for _, a := range m.o.Agencies {
			if strings.HasSuffix(a, suffix) {
				agency = a
			}
		}
		if agency == "" || n == 0 {
			return fmt.Errorf("%w: %q names no configured agency", ErrUnknownList, id)
		}
		var err error
		if l, err = m.newList(id, agency, n); err != nil {
			return err
		}
	}
	if idx >= uint64(m.o.ListSize) {
		return fmt.Errorf("status: position %d outside list %s of %d", idx, id, m.o.ListSize)
	}
	if _, err := l.alloc.MarkUsed(int(idx)); err != nil {
		return err
	}
	if old, _ := l.entries.Get(int(idx)); old != v {
		if err := l.entries.Set(int(idx), v); err != nil {
			return err
		}
		l.version = m.nextVersion(l.version)
	}
	return nil
}

// nextVersion numbers list versions by the microsecond clock, so they keep
// increasing across restarts (the manager keeps no versions on disk).
func (m *Manager) nextVersion(prev uint64) uint64 {
	return max(prev+1, uint64(m.o.Now().UnixMicro()))
}

// URI is where list id is published.
func (m *Manager) URI(id string) string { return m.o.BaseURL + "/v1/status/" + id }

// BaseURL is the public base URL the documents are published under.
func (m *Manager) BaseURL() string { return m.o.BaseURL }

// Info describes one list, for the trust bundle.
type Info struct {
	ID, URI, Agency string
	// Version is the list's current version: the one its next fetch
	// serves (publication signs it on demand).
	Version uint64
}

// Lists describes every list, in ID order.
func (m *Manager) Lists() []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Info, 0, len(m.lists))
	for id, l := range m.lists {
		out = append(out, Info{ID: id, URI: m.URI(id), Agency: l.agency, Version: l.version})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// StatusList returns the signed list and its ETag, signing a fresh one
// when the list changed or half its validity has passed. Signing under
// the lock keeps versions in order; it costs one SM2 signature and a
// compression of at most 256 KiB.
func (m *Manager) StatusList(id string) ([]byte, string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.lists[id]
	if l == nil {
		return nil, "", false
	}
	if err := m.publish(l); err != nil && l.signed == nil {
		return nil, "", false
	}
	// On a signing failure the last good document is served: it carries
	// its own expiry, so a counter can judge it.
	return l.signed.doc, l.signed.etag, true
}

// publish signs the list's current version when it changed or half its
// validity has passed, and remembers the published version for deltas.
// The caller holds m.mu.
func (m *Manager) publish(l *list) error {
	now := m.o.Now()
	p := l.signed
	if p != nil && p.version == l.version && now.Before(p.signed.Add(m.o.Validity/2)) {
		return nil
	}
	if p != nil && p.version == l.version {
		// A re-signature for freshness is a version of its own (an empty
		// delta carries it), so that one version is one document and a
		// counter holding the current version holds the current document.
		l.version = m.nextVersion(l.version)
	}
	meta := statuslist.Meta{URI: m.URI(l.id), Version: l.version, IssuedAt: now.Truncate(time.Second), ExpiresAt: now.Add(m.o.Validity).Truncate(time.Second), TTL: m.o.TTL}
	tok, err := statuslist.Sign(l.entries, meta, m.o.Signer, m.o.KeyID)
	if err != nil {
		return err
	}
	sum := gm.SM3([]byte(tok))
	l.signed = &published{version: l.version, doc: []byte(tok), etag: fmt.Sprintf(`"%x"`, sum[:12]), signed: now, exp: now.Add(m.o.Validity)}
	l.history = append(l.history, snapshot{version: l.version, entries: l.entries.Clone(), meta: meta})
	if len(l.history) > historyLen {
		l.history = l.history[1:]
	}
	l.deltas = nil // deltas end at the current publication
	return nil
}

// ErrNoDelta means no delta can be made from the version asked for (too
// old, or never published); the counter fetches the full list.
var ErrNoDelta = errors.New("status: no delta from that version")

// ErrUnchanged means the version asked for is the current published one:
// the counter already holds the current document.
var ErrUnchanged = errors.New("status: the version held is the current one")

// StatusDelta returns the signed delta from version from to the list's
// current published version.
func (m *Manager) StatusDelta(id string, from uint64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.lists[id]
	if l == nil {
		return nil, ErrUnknownList
	}
	if err := m.publish(l); err != nil && l.signed == nil {
		return nil, err
	}
	cur := l.history[len(l.history)-1]
	if from == cur.version {
		return nil, fmt.Errorf("%w (list %s version %d)", ErrUnchanged, id, from)
	}
	if d, ok := l.deltas[[2]uint64{from, cur.version}]; ok {
		return d, nil
	}
	for _, h := range l.history[:len(l.history)-1] {
		if h.version != from {
			continue
		}
		d, err := statuslist.NewDelta(h.entries, from, cur.entries, cur.meta)
		if err != nil {
			return nil, err
		}
		doc, err := statuslist.SignDelta(d, m.o.Signer, m.o.KeyID)
		if err != nil {
			return nil, err
		}
		if l.deltas == nil {
			l.deltas = map[[2]uint64][]byte{}
		}
		l.deltas[[2]uint64{from, cur.version}] = doc
		return doc, nil
	}
	return nil, fmt.Errorf("%w %d of list %s", ErrNoDelta, from, id)
}

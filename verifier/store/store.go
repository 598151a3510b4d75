package store

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/atomicfile"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
	"elicense/verifier"
)

// Errors.
var (
	ErrNoRoots = errors.New("store: no root pinned")
	ErrNoCache = errors.New("store: no trust data held: sync from an issuer first")
	ErrCorrupt = errors.New("store: cached trust data does not verify")
)

const (
	rootsFile  = "roots.pem"
	cacheFile  = "cache.json"
	replayFile = "replay.bin" // replay.go
	// maxDeltas bounds the deltas kept on a full list; past it Sync
	// fetches the full list again.
	maxDeltas = 32
)

// Store is a trust store directory.
type Store struct{ dir string }

// Open opens (creating it if need be) the store in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// AddRoot pins the root certificates in pemData (PEM). Each must be a CA
// certificate (else ErrNotCA, and nothing is pinned); one already pinned
// is not added twice.
func (s *Store) AddRoot(pemData []byte) ([]*gm.Certificate, error) {
	certs, err := parseRoots("root", pemData)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lockTrust(context.Background())
	if err != nil {
		return nil, err
	}
	defer unlock()
	held, err := s.Roots()
	if err != nil && !errors.Is(err, ErrNoRoots) {
		return nil, err
	}
	return certs, writeAtomic(filepath.Join(s.dir, rootsFile), encodeCerts(mergeCerts(held, certs)))
}

// Roots returns the pinned roots.
func (s *Store) Roots() ([]*gm.Certificate, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, rootsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoRoots
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	certs, err := gm.ParseCertificatesPEM(data)
	if err != nil {
		return nil, fmt.Errorf("store: roots: %w", err)
	}
	if len(certs) == 0 {
		return nil, ErrNoRoots
	}
	return certs, nil
}

// file is the cache on disk: signed documents only.
type file struct {
	SyncedAt   time.Time            `json:"synced_at"`
	From       string               `json:"from"`
	Bundle     string               `json:"bundle"`
	Checkpoint string               `json:"checkpoint"` // signed note
	Lists      map[string]*listFile `json:"lists"`
}

type listFile struct {
	Token  string   `json:"token"`
	Deltas [][]byte `json:"deltas,omitempty"`
}

// Cache is verified trust data.
type Cache struct {
	Bundle     *trust.Bundle
	Lists      map[string]*statuslist.Signed
	Checkpoint tlog.Checkpoint
	SyncedAt   time.Time
	From       string
	Warnings   []string // staleness of the bundle or lists, genuine sets not held
	// Genuine are the genuine sets of the bundle's compromised keys, by
	// key ID (genuine.go); a key whose set is missing has all its QR
	// cores refused.
	Genuine map[string]*trust.GenuineSet
	f       *file
	history map[string]*listHistory // by list ID, for StatusSince
}

// listHistory is the signed status data held for one list: the full list
// and the deltas applied to it since, oldest first.
type listHistory struct {
	base   *statuslist.Signed
	deltas []*statuslist.Delta
}

// State is the cache as the verifier's trust data.
func (c *Cache) State() verifier.State {
	return verifier.State{Bundle: c.Bundle, Lists: c.Lists, Genuine: c.Genuine, StatusSince: c.StatusSince}
}

// StatusSince dates the status st of entry index of list id: the issued-at
// time of the earliest status data held from which the entry has been st
// without a break (the full list's, when it already said so), so the
// change happened no later than that. Zero when the list is not held or
// the entry is not st. It costs a binary search per delta held (at most
// 32), and is meant for refusals only.
func (c *Cache) StatusSince(id string, index uint64, st statuslist.Status) time.Time {
	h := c.history[id]
	if h == nil || index >= uint64(h.base.List.Len()) {
		return time.Time{}
	}
	i := int(index)
	start := -1 // earliest delta of the final run of st; -1: none seen yet
	for j := len(h.deltas) - 1; j >= 0; j-- {
		ch := h.deltas[j].Changes
		k, found := slices.BinarySearchFunc(ch, i, func(c statuslist.Change, i int) int { return cmp.Compare(c.Index, i) })
		if !found {
			continue
		}
		if ch[k].Status != st {
			if start < 0 {
				return time.Time{} // the entry is not st now
			}
			return h.deltas[start].IssuedAt
		}
		start = j
	}
	if base, err := h.base.Status(i); err == nil && base == st {
		return h.base.IssuedAt
	}
	if start >= 0 {
		return h.deltas[start].IssuedAt
	}
	return time.Time{}
}

// recovery says how to get out of a freshness error.
const recovery = "elicense-verify sync re-establishes the record, and accepts only data at least as new as the cache held; " +
	"to reset the store deliberately, remove cache.json and highwater from it and sync again"

// Load reads and verifies the cache at now against the pinned roots, and
// refuses it if it is older than the newest trust data this store ever
// accepted (the high-water file), or if that record is missing or damaged.
func (s *Store) Load(now time.Time) (*Cache, error) {
	c, err := s.load(now)
	if !errors.Is(err, ErrRolledBack) {
		return c, err
	}
	// A sync by another process writes the mark, then the cache: a load
	// between the two sees an old cache under a new mark. Wait for any
	// sync to end and look again before calling it a rollback.
	ctx, cancel := context.WithTimeout(context.Background(), loadWait)
	defer cancel()
	unlock, lerr := s.lockSync(ctx)
	if lerr != nil {
		return nil, err
	}
	unlock()
	return s.load(now)
}

// loadWait bounds how long Load waits for another process's sync before
// it reports a rollback.
const loadWait = 2 * time.Minute

// load is one attempt of Load.
func (s *Store) load(now time.Time) (*Cache, error) {
	c, err := s.loadCache(now)
	if err != nil {
		return nil, err
	}
	hw, err := s.readHighWater()
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w; %s", err, recovery)
	case hw == nil:
		return nil, fmt.Errorf("%w: %s is missing while a cache is held; %s", ErrHighWater, highWaterFile, recovery)
	}
	if err := hw.check(c); err != nil {
		return nil, fmt.Errorf("%w; cache.json was replaced by an older copy, or a sync was cut off: run elicense-verify sync", err)
	}
	return c, nil
}

// LastFrom is the issuer URL the last sync used, read from the cache
// without verifying it (a sync verifies everything it fetches), so that a
// store whose cache no longer loads can still be synced from where it
// was. It returns ErrNoCache when no sync was made.
func (s *Store) LastFrom() (string, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, cacheFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", ErrNoCache
	}
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	var f struct {
		From string `json:"from"`
	}
	if err := json.Unmarshal(data, &f); err != nil || f.From == "" {
		return "", fmt.Errorf("%w: cache.json names no issuer URL", ErrCorrupt)
	}
	return f.From, nil
}

// loadCache reads and verifies the cache, without the high-water check.
func (s *Store) loadCache(now time.Time) (*Cache, error) {
	roots, err := s.Roots()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(s.dir, cacheFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoCache
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	c, err := verifyFile(&f, roots, nil, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	s.loadGenuine(c)
	return c, nil
}

// verifyFile checks every signed document of f (against prev's versions
// when prev is set), and warns of each list older than the version the
// bundle names.
func verifyFile(f *file, roots []*gm.Certificate, prev *Cache, now time.Time) (*Cache, error) {
	c := &Cache{SyncedAt: f.SyncedAt, From: f.From, Lists: map[string]*statuslist.Signed{}, f: f, history: map[string]*listHistory{}}
	var po *trust.Bundle
	if prev != nil {
		po = prev.Bundle
	}
	b, err := trust.Verify(f.Bundle, trust.VerifyOptions{Roots: roots, Previous: po, Now: now})
	var stale *trust.StaleError
	switch {
	case errors.As(err, &stale):
		c.Warnings = append(c.Warnings, stale.Error())
	case err != nil:
		return nil, err
	}
	c.Bundle = b
	if f.Checkpoint != "" {
		if c.Checkpoint, err = verifyCheckpoint(b, []byte(f.Checkpoint), ""); err != nil {
			return nil, err
		}
	}
	for id, lf := range f.Lists {
		sl, ok := b.StatusList(id)
		if !ok {
			continue // the bundle dropped the list
		}
		opts := statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(id), Now: now}
		signed, err := statuslist.Parse(lf.Token, opts)
		if err != nil && !errors.Is(err, statuslist.ErrExpired) {
			return nil, fmt.Errorf("status list %s: %w", id, err)
		}
		h := &listHistory{base: signed}
		for i, raw := range lf.Deltas {
			d, err := statuslist.ParseDelta(raw, opts)
			if err != nil && !errors.Is(err, statuslist.ErrExpired) {
				return nil, fmt.Errorf("status list %s delta %d: %w", id, i, err)
			}
			if signed, err = statuslist.Apply(signed, d); err != nil {
				return nil, fmt.Errorf("status list %s delta %d: %w", id, i, err)
			}
			h.deltas = append(h.deltas, d)
		}
		if prev != nil && prev.Lists[id] != nil && prev.Lists[id].URI == signed.URI && signed.Version < prev.Lists[id].Version {
			return nil, fmt.Errorf("status list %s: %w: version %d, held %d", id, statuslist.ErrRollback, signed.Version, prev.Lists[id].Version)
		}
		if signed.Version < sl.Version {
			// Only ever the list held before a sync whose source was
			// behind (Sync refuses it otherwise); the high-water mark
			// keeps it from being any older than that.
			c.Warnings = append(c.Warnings, behindWarning(id, signed.Version, sl.Version))
		}
		if signed.Expired(now) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("status list %s expired at %s", id, signed.ExpiresAt.UTC().Format(time.RFC3339)))
		}
		c.Lists[id] = signed
		c.history[id] = h
	}
	return c, nil
}

// behindWarning says that list id is held at version v, older than the
// version named that the trust bundle names.
func behindWarning(id string, v, named uint64) string {
	return fmt.Sprintf("status list %s is v%d, older than the v%d the trust bundle names: the last sync's source was behind; sync again", id, v, named)
}

// verifyCheckpoint opens a checkpoint note signed by the bundle's ledger
// key. The origin is the note's own unless want is set.
func verifyCheckpoint(b *trust.Bundle, note []byte, want string) (tlog.Checkpoint, error) {
	if b.LedgerKey == nil {
		return tlog.Checkpoint{}, errors.New("the trust bundle names no ledger key")
	}
	cert, err := gm.ParseCertificate(b.LedgerKey.Cert)
	if err != nil {
		return tlog.Checkpoint{}, err
	}
	origin := want
	if origin == "" {
		text, _, _ := strings.Cut(string(note), "\n")
		origin = text
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return tlog.Checkpoint{}, errors.New("the ledger key is not an SM2 key")
	}
	nv, err := tlog.NewNoteVerifier(origin, pub)
	if err != nil {
		return tlog.Checkpoint{}, fmt.Errorf("checkpoint verifier: %w", err)
	}
	cp, err := tlog.VerifyCheckpoint(note, origin, nv)
	if err != nil {
		return tlog.Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	return cp, nil
}

// writeAtomic writes data to path so that readers see the old or the new
// content, never a mix, and the new content is durable (internal/atomicfile).
func writeAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"elicense/certs/trust"
)

// Genuine sets: a compromised key's list of the QR cores it signed before
// its compromise (certs/trust, genuine.go). The bundle names each by SM3;
// the documents, megabytes for a busy key, live beside the cache, one file
// per document named by its SM3 (genuineDir/<sm3>.bin), fetched once and
// checked against the signed bundle every time they are loaded. A missing
// or damaged one is not fatal: that key's QR cores are all refused until
// a sync fetches it again.

const genuineDir = "genuine"

// genuineKeys lists the bundle's compromised keys that have a genuine set.
func genuineKeys(b *trust.Bundle) map[string]trust.GenuineRef {
	out := map[string]trust.GenuineRef{}
	for _, a := range b.Agencies {
		for _, k := range a.Keys {
			if ref, ok := b.GenuineRef(k.KID); ok {
				out[k.KID] = ref
			}
		}
	}
	return out
}

func (s *Store) genuinePath(ref trust.GenuineRef) string {
	return filepath.Join(s.dir, genuineDir, ref.SM3+".bin")
}

// loadGenuine reads and checks the genuine sets c's bundle names into
// c.Genuine, with a warning for each it cannot use.
func (s *Store) loadGenuine(c *Cache) {
	for kid, ref := range genuineKeys(c.Bundle) {
		doc, err := os.ReadFile(s.genuinePath(ref))
		var g *trust.GenuineSet
		if err == nil {
			g, err = c.Bundle.VerifyGenuineSet(kid, doc)
		}
		if err != nil {
			c.Warnings = append(c.Warnings, fmt.Sprintf("genuine set of compromised key %s not usable (every QR of that key is refused until a sync fetches it): %v", kid, err))
			continue
		}
		if c.Genuine == nil {
			c.Genuine = map[string]*trust.GenuineSet{}
		}
		c.Genuine[kid] = g
	}
}

// syncGenuine fetches the genuine sets bundle b names that the store does
// not hold yet, checks each against b and keeps it. A set that cannot be
// fetched is a warning: the sync goes on, and that key's QR cores stay
// refused.
func (s *Store) syncGenuine(ctx context.Context, get getter, b *trust.Bundle, rep *SyncReport, logf func(string, ...any)) {
	for kid, ref := range genuineKeys(b) {
		if ctx.Err() != nil {
			return
		}
		path := s.genuinePath(ref)
		if doc, err := os.ReadFile(path); err == nil {
			if _, err := b.VerifyGenuineSet(kid, doc); err == nil {
				continue
			}
		}
		doc, _, err := get("/v1/trust/genuine/"+url.PathEscape(kid), "genuine set "+kid)
		if err == nil {
			_, err = b.VerifyGenuineSet(kid, doc)
		}
		if err == nil {
			if err = os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
				err = writeAtomic(path, doc)
			}
		}
		if err != nil {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("genuine set of compromised key %s: %v", kid, err))
			continue
		}
		rep.GenuineSets = append(rep.GenuineSets, kid)
		logf("genuine set of compromised key %s: %d licences, %d bytes", kid, ref.Count, len(doc))
	}
}

// pruneGenuine removes the genuine-set documents bundle b no longer names.
func (s *Store) pruneGenuine(b *trust.Bundle) error {
	keep := map[string]bool{}
	for _, ref := range genuineKeys(b) {
		keep[ref.SM3+".bin"] = true
	}
	ents, err := os.ReadDir(filepath.Join(s.dir, genuineDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !keep[e.Name()] && !strings.HasPrefix(e.Name(), ".") {
			os.Remove(filepath.Join(s.dir, genuineDir, e.Name()))
		}
	}
	return nil
}

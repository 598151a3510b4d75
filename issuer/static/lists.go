package static

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"

	"crypto/ecdsa"

	"elicense/certs/statuslist"
)

// Status lists. v1/status/<id> is the current list; for each of the
// versions published recently (Options.DeltaBases, DeltaMaxAge),
// v1/status-delta/<id>/<version> is the signed delta from it to the
// current one, and v1/status-delta/<id>/<current version> is empty: "you
// hold the current list". A new version's deltas are composed from the
// ones the directory holds (the changes since each base, united with the
// changes since the last publication) rather than kept in memory, so
// they survive restarts and one-shot publishing.

func (w *Writer) verifyOpts(id string) statuslist.VerifyOptions {
	return statuslist.VerifyOptions{
		URI: w.o.Status.URI(id),
		Keys: func(kid string) []*ecdsa.PublicKey {
			if kid != w.o.KeyID {
				return nil
			}
			return []*ecdsa.PublicKey{w.pub}
		},
		Now: w.o.Now(),
	}
}

// list publishes list id if its current version is not the one the
// directory holds.
func (w *Writer) list(id string, rep *Report) error {
	if !safeName(id) {
		return fmt.Errorf("static: list ID %q cannot be a file name", id)
	}
	doc, _, ok := w.o.Status.StatusList(id)
	if !ok {
		return fmt.Errorf("static: status list %s could not be signed", id)
	}
	opts := w.verifyOpts(id)
	cur, err := statuslist.Parse(string(doc), opts)
	if err != nil {
		return fmt.Errorf("static: status list %s as signed: %w", id, err)
	}
	deltaDir := DeltaPrefix + id + "/"
	old := w.heldList(id, opts)
	switch {
	case old != nil && old.Version == cur.Version:
		return nil
	case old != nil && old.Version > cur.Version:
		return fmt.Errorf("%w: it holds status list %s version %d, the issuer's is %d", ErrRollback, id, old.Version, cur.Version)
	}
	deltas := map[uint64]*statuslist.Delta{}
	if old != nil {
		diff, err := statuslist.NewDelta(old.List, old.Version, cur.List, cur.Meta)
		if err != nil {
			return fmt.Errorf("static: status list %s: %w", id, err)
		}
		deltas[old.Version] = diff
		for base, d := range w.heldDeltas(id, old, opts) {
			deltas[base] = compose(d, diff, cur)
		}
	}
	keep := w.retained(deltas)
	for _, base := range keep {
		raw, err := statuslist.SignDelta(deltas[base], w.o.Signer, w.o.KeyID)
		if err != nil {
			return fmt.Errorf("static: status list %s delta from %d: %w", id, base, err)
		}
		if err := w.write(deltaDir+strconv.FormatUint(base, 10), raw, rep); err != nil {
			return err
		}
		rep.Deltas++
	}
	if err := w.write(deltaDir+strconv.FormatUint(cur.Version, 10), nil, rep); err != nil {
		return err
	}
	if err := w.write(StatusPrefix+id, doc, rep); err != nil {
		return err
	}
	rep.Lists++
	// Last: the files of bases no longer kept. A reader holding one of
	// them fetches the full list.
	names, _ := os.ReadDir(w.path(deltaDir))
	for _, e := range names {
		v, err := strconv.ParseUint(e.Name(), 10, 64)
		if err == nil && (v == cur.Version || slices.Contains(keep, v)) {
			continue
		}
		if err := os.Remove(w.path(deltaDir + e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("static: %w", err)
		}
		rep.Pruned++
	}
	return nil
}

// heldList is the list the directory holds, if it verifies.
func (w *Writer) heldList(id string, opts statuslist.VerifyOptions) *statuslist.Signed {
	raw, err := w.read(StatusPrefix + id)
	if err != nil {
		return nil
	}
	s, err := statuslist.Parse(string(raw), opts)
	if err != nil && !errors.Is(err, statuslist.ErrExpired) {
		w.o.Logger.Warn("static: the published status list does not verify; its deltas are dropped", "list", id, "err", err)
		return nil
	}
	return s
}

// heldDeltas reads the deltas the directory holds to old's version, by
// base version; any that does not verify or leads elsewhere is dropped.
func (w *Writer) heldDeltas(id string, old *statuslist.Signed, opts statuslist.VerifyOptions) map[uint64]*statuslist.Delta {
	out := map[uint64]*statuslist.Delta{}
	ents, err := os.ReadDir(w.path(DeltaPrefix + id))
	if err != nil {
		return out
	}
	for _, e := range ents {
		base, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil || base >= old.Version || e.Name() != strconv.FormatUint(base, 10) {
			continue
		}
		raw, err := w.read(DeltaPrefix + id + "/" + e.Name())
		if err != nil || len(raw) == 0 {
			continue
		}
		d, err := statuslist.ParseDelta(raw, opts)
		if err != nil && !errors.Is(err, statuslist.ErrExpired) {
			continue
		}
		if d.BaseVersion != base || d.Version != old.Version || d.Digest != old.List.Digest() {
			continue
		}
		out[base] = d
	}
	return out
}

// compose is the delta from d's base to cur: d's changes and diff's (from
// d's result to cur), with cur's values.
func compose(d, diff *statuslist.Delta, cur *statuslist.Signed) *statuslist.Delta {
	idx := make([]int, 0, len(d.Changes)+len(diff.Changes))
	i, j := 0, 0
	for i < len(d.Changes) || j < len(diff.Changes) {
		switch {
		case j == len(diff.Changes) || (i < len(d.Changes) && d.Changes[i].Index < diff.Changes[j].Index):
			idx = append(idx, d.Changes[i].Index)
			i++
		case i == len(d.Changes) || diff.Changes[j].Index < d.Changes[i].Index:
			idx = append(idx, diff.Changes[j].Index)
			j++
		default:
			idx = append(idx, d.Changes[i].Index)
			i++
			j++
		}
	}
	out := &statuslist.Delta{Meta: cur.Meta, BaseVersion: d.BaseVersion, BaseDigest: d.BaseDigest, Digest: cur.List.Digest(), Entries: cur.List.Len()}
	out.Changes = make([]statuslist.Change, len(idx))
	for k, x := range idx {
		s, _ := cur.List.Get(x)
		out.Changes[k] = statuslist.Change{Index: x, Status: s}
	}
	return out
}

// retained picks the bases whose deltas are kept: the most recent
// DeltaBases, none older than DeltaMaxAge.
func (w *Writer) retained(deltas map[uint64]*statuslist.Delta) []uint64 {
	bases := make([]uint64, 0, len(deltas))
	oldest := w.o.Now().Add(-w.o.DeltaMaxAge).UnixMicro()
	for b := range deltas {
		if oldest < 0 || b >= uint64(oldest) {
			bases = append(bases, b)
		}
	}
	slices.Sort(bases)
	slices.Reverse(bases)
	return bases[:min(len(bases), w.o.DeltaBases)]
}

package mobilesdk

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A holder names a licence in the wallet the way they see it: by the
// licence identifier printed on it (证照标识, e.g.
// 1.2.156.3005.2.11310000PDY00001XQ001.11310000PDY100010H.20261125ABCD1234.001.B),
// by its number in the wallet's list (1, 2, …), or, as programs do, by
// the wallet's copy identifier ("<licence identifier>#<device tag>").
// Resolve is the one place that turns such a name into a copy; every
// method taking a licence ID calls it, and so do the CLI and the wasm
// front end.

// ErrAmbiguous: the name matches several copies in the wallet; the error
// is an *AmbiguousError listing them. It also matches ErrInvalidArgument.
var ErrAmbiguous = refine(ErrInvalidArgument, "mobilesdk: the name matches several licences in the wallet")

// AmbiguousError is Resolve's refusal of a licence identifier the wallet
// holds several copies of (an old copy and one claimed after the device
// was unbound, say). It matches ErrAmbiguous and ErrInvalidArgument.
type AmbiguousError struct {
	Ref     string // the name given
	IDs     string // the matching copies' identifiers, comma-separated, in list order
	Indexes string // their numbers in the list, comma-separated
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("mobilesdk: the wallet holds %d copies of licence %s (%s, numbers %s in the list): name one by its number or copy identifier",
		strings.Count(e.IDs, ",")+1, e.Ref, e.IDs, e.Indexes)
}

// Is makes errors.Is match ErrAmbiguous and ErrInvalidArgument.
func (e *AmbiguousError) Is(target error) bool {
	return target == ErrAmbiguous || target == ErrInvalidArgument
}

// Resolve returns the copy identifier of the licence that ref names:
//
//   - a copy identifier (licence#tag) the wallet holds: that copy;
//   - a number n (1 ≤ n ≤ the number of licences): the n-th licence of
//     List, as the CLI's list and the web wallet show them;
//   - a licence identifier as printed on the licence (without #tag): the
//     wallet's copy of it. Several copies of one licence (possible after
//     the agency unbound a lost device and the holder claimed it again)
//     are an *AmbiguousError listing their numbers; the wallet does not
//     guess which one a holder means.
//
// Anything else is ErrNotFound; an empty ref is ErrInvalidArgument.
func (w *Wallet) Resolve(ref string) (string, error) {
	r, err := w.resolve(ref)
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

// resolve is Resolve returning the copy's record.
func (w *Wallet) resolve(ref string) (*record, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, wrapf(ErrInvalidArgument, "no licence named")
	}
	w.mu.Lock()
	r, err := w.load(ref)
	w.mu.Unlock()
	if err == nil || !errors.Is(err, ErrNotFound) {
		return r, err // a copy identifier, or a store failure
	}
	l, err := w.List()
	if err != nil {
		return nil, err
	}
	i, err := pickCopy(ref, l.items)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.load(l.items[i].ID)
}

// pickCopy finds ref among the wallet's licences in list order (see
// Resolve) and returns its position. It is pure, for the table test.
func pickCopy(ref string, list []*Licence) (int, error) {
	for i, l := range list {
		if l.ID == ref {
			return i, nil
		}
	}
	if n, err := strconv.Atoi(ref); err == nil && ref[0] != '+' && ref[0] != '-' {
		if n < 1 || n > len(list) {
			return 0, wrapf(ErrNotFound, "no licence number %d: the wallet holds %d", n, len(list))
		}
		return n - 1, nil
	}
	var found []int
	for i, l := range list {
		if l.CopyOf == ref || (l.CopyOf == "" && strings.HasPrefix(l.ID, ref+"#")) {
			found = append(found, i)
		}
	}
	switch len(found) {
	case 0:
		return 0, wrapf(ErrNotFound, "%q", ref)
	case 1:
		return found[0], nil
	}
	ids, nums := make([]string, len(found)), make([]string, len(found))
	for k, i := range found {
		ids[k], nums[k] = list[i].ID, strconv.Itoa(i+1)
	}
	return 0, &AmbiguousError{Ref: ref, IDs: strings.Join(ids, ","), Indexes: strings.Join(nums, ",")}
}

// indexOf is the 1-based position of copy id in List, or 0.
func (w *Wallet) indexOf(id string) int64 {
	l, err := w.List()
	if err != nil {
		return 0
	}
	for i, x := range l.items {
		if x.ID == id {
			return int64(i + 1)
		}
	}
	return 0
}

package status

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"elicense/certs/statuslist"
)

// ErrSnapshot means a snapshot could not be restored; the manager is
// unchanged and the lists must be rebuilt from the records.
var ErrSnapshot = errors.New("status: unusable snapshot")

const snapshotVersion = 1

// Snapshot encodes every list's entries and used positions, so that a
// restart restores them (Restore) instead of reading every licence record.
// Layout: version 1, uvarint list size, uvarint number of lists, then per
// list in ID order: uvarint-prefixed ID and agency, uvarint list number,
// the packed entries (Len/4 bytes) and the used-position bitmap
// ((size+7)/8 bytes, least significant bit first).
func (m *Manager) Snapshot() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	size := m.o.ListSize
	entryBytes, usedBytes := (size+3)/4, (size+7)/8
	out := make([]byte, 0, 16+len(m.lists)*(64+entryBytes+usedBytes))
	out = append(out, snapshotVersion)
	out = binary.AppendUvarint(out, uint64(size))
	out = binary.AppendUvarint(out, uint64(len(m.lists)))
	for _, id := range slices.Sorted(maps.Keys(m.lists)) {
		l := m.lists[id]
		out = appendString(out, l.id)
		out = appendString(out, l.agency)
		out = binary.AppendUvarint(out, uint64(l.num))
		entries := l.entries.Bytes()
		if len(entries) != entryBytes {
			return nil, fmt.Errorf("status: list %s holds %d bytes, want %d", id, len(entries), entryBytes)
		}
		out = append(out, entries...)
		used := make([]byte, usedBytes)
		for i := range l.alloc.UsedIndices() {
			used[i/8] |= 1 << (i % 8)
		}
		out = append(out, used...)
	}
	return out, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// Restore replaces the lists with those of a snapshot taken with the same
// list size. It checks the whole snapshot first: on any error it returns
// ErrSnapshot and leaves the manager as it was.
func (m *Manager) Restore(data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := snapReader{b: data}
	if v := r.byte(); v != snapshotVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrSnapshot, v, snapshotVersion)
	}
	if size := r.uvarint(); r.err == nil && size != uint64(m.o.ListSize) {
		return fmt.Errorf("%w: lists of %d entries, this issuer uses %d", ErrSnapshot, size, m.o.ListSize)
	}
	n := r.uvarint()
	entryBytes, usedBytes := (m.o.ListSize+3)/4, (m.o.ListSize+7)/8
	if r.err == nil && n > uint64(len(data)/(entryBytes+usedBytes)) {
		return fmt.Errorf("%w: %d lists cannot fit in %d bytes", ErrSnapshot, n, len(data))
	}
	lists := make(map[string]*list, n)
	for range n {
		id, agency, num := r.string(), r.string(), r.uvarint()
		entries, used := r.bytes(entryBytes), r.bytes(usedBytes)
		if r.err != nil {
			break
		}
		if _, dup := lists[id]; dup || id == "" || agency == "" || num == 0 || num > 1<<20 {
			return fmt.Errorf("%w: list %q of agency %q number %d", ErrSnapshot, id, agency, num)
		}
		alloc, err := statuslist.RebuildAllocator(m.o.ListSize, func(yield func(int) bool) {
			for i := range m.o.ListSize {
				if used[i/8]>>(i%8)&1 == 1 && !yield(i) {
					return
				}
			}
		})
		if err != nil {
			return fmt.Errorf("%w: list %s: %v", ErrSnapshot, id, err)
		}
		lists[id] = &list{id: id, agency: agency, num: int(num), entries: statuslist.FromBytes(entries), alloc: alloc}
	}
	if r.err != nil {
		return fmt.Errorf("%w: %v", ErrSnapshot, r.err)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the last list", ErrSnapshot, len(r.b))
	}
	clear(m.lists)
	clear(m.open)
	clear(m.count)
	for _, l := range lists {
		l.version = m.nextVersion(0)
		m.lists[l.id] = l
		m.count[l.agency] = max(m.count[l.agency], l.num)
		if cur := m.open[l.agency]; cur == nil || cur.num < l.num {
			m.open[l.agency] = l
		}
	}
	return nil
}

// snapReader reads a snapshot; the first error sticks.
type snapReader struct {
	b   []byte
	err error
}

func (r *snapReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated at the %s", what)
	}
	r.b = nil
}

func (r *snapReader) byte() byte {
	if len(r.b) < 1 {
		r.fail("version")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *snapReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *snapReader) bytes(n int) []byte {
	if len(r.b) < n {
		r.fail("list data")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *snapReader) string() string {
	n := r.uvarint()
	if n > 64 {
		if r.err == nil {
			r.err = fmt.Errorf("a name of %d bytes", n)
		}
		r.b = nil
		return ""
	}
	return string(r.bytes(int(n)))
}

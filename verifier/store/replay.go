package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"

	"elicense/verifier"
)

// The shared replay memory (replay.bin) is a header and fixed-size
// records, appended under the store lock:
//
//	header  8 bytes  "ELRPLY1\n"
//	record 44 bytes  digest (32) | end of window, Unix seconds (int64, big-endian) | CRC-32C of the 40 bytes before (big-endian)
//
// A record is appended for every holder-bound presentation whose
// signatures verified, once; a process reads only what others appended
// since its last read. The file is rewritten (compacted) under the lock
// when expired records dominate, which readers notice as a new file.
const (
	replayMagic  = "ELRPLY1\n"
	replayRecord = 44
	// maxReplayFile bounds the file read: compaction keeps it near twice
	// the records inside their window, far below this.
	maxReplayFile = 64 << 20
)

// compactMin is the record count below which the file is never compacted
// (a variable for tests).
var compactMin = 4096

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendReplayRecord appends the encoding of s to b. The end of the window
// is rounded up to a whole second, never shortened.
func appendReplayRecord(b []byte, s verifier.Seen) []byte {
	until := s.Until.Unix()
	if s.Until.Nanosecond() != 0 {
		until++
	}
	start := len(b)
	b = append(b, s.Digest[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(until))
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// parseReplayRecords decodes whole records from data, which starts at
// record index first (for messages).
func parseReplayRecords(data []byte, first int) ([]verifier.Seen, error) {
	if len(data)%replayRecord != 0 {
		return nil, fmt.Errorf("%d bytes after record %d, not a whole record of %d bytes", len(data)%replayRecord, first+len(data)/replayRecord, replayRecord)
	}
	out := make([]verifier.Seen, 0, len(data)/replayRecord)
	for i := 0; i < len(data); i += replayRecord {
		r := data[i : i+replayRecord]
		if crc32.Checksum(r[:40], castagnoli) != binary.BigEndian.Uint32(r[40:]) {
			return nil, fmt.Errorf("record %d: checksum mismatch", first+i/replayRecord)
		}
		until := int64(binary.BigEndian.Uint64(r[32:40]))
		if until <= 0 {
			return nil, fmt.Errorf("record %d: window end %d out of range", first+i/replayRecord, until)
		}
		var s verifier.Seen
		copy(s.Digest[:], r[:32])
		s.Until = time.Unix(until, 0)
		out = append(out, s)
	}
	return out, nil
}

// parseReplay decodes a whole replay file.
func parseReplay(data []byte) ([]verifier.Seen, error) {
	if len(data) == 0 {
		return nil, nil // created, header not written yet
	}
	if len(data) < len(replayMagic) || !bytes.Equal(data[:len(replayMagic)], []byte(replayMagic)) {
		return nil, errors.New("not a replay memory file (bad header)")
	}
	return parseReplayRecords(data[len(replayMagic):], 0)
}

// replayLog is one process's view of the shared replay memory. Its
// methods are called with the store lock held.
type replayLog struct {
	path      string
	window    time.Duration // for the recovery message
	f         *os.File
	off       int64 // bytes read and remembered
	compactAt int   // record count that triggers a compaction
	logf      func(format string, args ...any)
}

func (r *replayLog) damaged(problem string) error {
	return &DamagedError{Path: r.path, Problem: problem, Recovery: fmt.Sprintf(
		"stop elicense-verify on this store and move %s aside; presentations seen in the last %s could then be accepted once more",
		filepath.Base(r.path), r.window.Round(time.Second))}
}

// catchUp reads what other processes appended since the last call (the
// whole file when it is new or was compacted) and remembers it in v.
func (r *replayLog) catchUp(v *verifier.Verifier, now time.Time) error {
	fi, err := os.Lstat(r.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fi = nil
	case err != nil:
		return fmt.Errorf("store: replay memory: %w", err)
	case !fi.Mode().IsRegular():
		return r.damaged("not a regular file")
	}
	if r.f != nil {
		held, err := r.f.Stat()
		if err != nil {
			return fmt.Errorf("store: replay memory: %w", err)
		}
		if fi == nil || !os.SameFile(fi, held) {
			r.f.Close()
			r.f, r.off = nil, 0
		}
	}
	if r.f == nil {
		if r.f, err = openNoFollow(r.path); err != nil {
			return fmt.Errorf("store: replay memory: %w", err)
		}
		r.off = 0
	}
	held, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("store: replay memory: %w", err)
	}
	size := held.Size()
	if size, err = r.cutTornTail(size); err != nil {
		return err
	}
	switch {
	case size > maxReplayFile:
		return r.damaged(fmt.Sprintf("%d bytes, more than the %d a compacted file can reach", size, maxReplayFile))
	case size < r.off:
		return r.damaged(fmt.Sprintf("shrank from %d to %d bytes without being replaced", r.off, size))
	case size == 0:
		if _, err := r.f.WriteAt([]byte(replayMagic), 0); err != nil {
			return fmt.Errorf("store: replay memory: %w", err)
		}
		r.off = int64(len(replayMagic))
		r.compactAt = compactMin
		return nil
	case size == r.off:
		return nil
	}
	data := make([]byte, size-r.off)
	if _, err := r.f.ReadAt(data, r.off); err != nil {
		return fmt.Errorf("store: replay memory: %w", err)
	}
	var seen []verifier.Seen
	if r.off == 0 {
		seen, err = parseReplay(data)
	} else {
		seen, err = parseReplayRecords(data, int(r.off-int64(len(replayMagic)))/replayRecord)
	}
	if err != nil {
		return r.damaged(err.Error())
	}
	for _, s := range seen {
		if s.Until.After(now) {
			v.Remember(s, now)
		}
	}
	if r.off == 0 {
		r.compactAt = max(compactMin, 2*len(seen))
	}
	r.off = size
	return nil
}

// cutTornTail cuts off a record (or header) that a crash left half
// written, and returns the new size. It runs under the store lock, where
// every append happens, so a partial record at the end can only be an
// append whose check never returned: dropping it forgets nothing a caller
// was told. A partial record anywhere else is damage, found by the parser.
func (r *replayLog) cutTornTail(size int64) (int64, error) {
	head := int64(len(replayMagic))
	keep := size
	switch {
	case size > 0 && size < head:
		keep = 0
	case size > head:
		keep = size - (size-head)%replayRecord
	}
	if keep == size || keep < r.off {
		return size, nil
	}
	if err := r.f.Truncate(keep); err != nil {
		return size, fmt.Errorf("store: replay memory: %w", err)
	}
	if err := r.f.Sync(); err != nil {
		return size, fmt.Errorf("store: replay memory: %w", err)
	}
	if r.logf != nil {
		r.logf("store: %s: cut off %d bytes of a record a crash left half written", r.path, size-keep)
	}
	return keep, nil
}

// records is the number of records in the file as last read.
func (r *replayLog) records() int { return int(r.off-int64(len(replayMagic))) / replayRecord }

// add appends s, syncs, and compacts the file when it has grown past its
// threshold and expired records dominate. catchUp must have run under the
// same lock hold.
func (r *replayLog) add(s verifier.Seen, now time.Time) error {
	rec := appendReplayRecord(nil, s)
	if _, err := r.f.WriteAt(rec, r.off); err != nil {
		return fmt.Errorf("store: replay memory: %w", err)
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("store: replay memory: %w", err)
	}
	r.off += int64(len(rec))
	if r.records() >= r.compactAt {
		return r.compact(now)
	}
	return nil
}

// compact rewrites the file with only the records still inside their
// window, when those are fewer than half; otherwise it raises the
// threshold so that the work stays proportional to what is appended.
func (r *replayLog) compact(now time.Time) error {
	data := make([]byte, r.off)
	if _, err := r.f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("store: replay memory: %w", err)
	}
	seen, err := parseReplay(data)
	if err != nil {
		return r.damaged(err.Error())
	}
	out := []byte(replayMagic)
	live := 0
	for _, s := range seen {
		if s.Until.After(now) {
			out = appendReplayRecord(out, s)
			live++
		}
	}
	if 2*live >= len(seen) {
		r.compactAt = max(compactMin, 2*len(seen))
		return nil
	}
	if err := writeAtomic(r.path, out); err != nil {
		return err
	}
	r.f.Close()
	r.f = nil
	if r.f, err = openNoFollow(r.path); err != nil {
		return fmt.Errorf("store: replay memory: %w", err)
	}
	r.off = int64(len(out))
	r.compactAt = max(compactMin, 2*live)
	return nil
}

func (r *replayLog) close() error {
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}

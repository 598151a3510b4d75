package vlog

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"elicense/internal/gm"
	"elicense/verifier"
)

// ErrTampered: the log's hash chain is broken.
var ErrTampered = errors.New("vlog: verification log tampered with")

// Record is one check.
type Record struct {
	Seq       uint64        `json:"seq"`
	Time      time.Time     `json:"time"`
	Counter   string        `json:"counter"`
	Code      verifier.Code `json:"code"`
	LicenceID string        `json:"licence_id,omitempty"`
	Class     string        `json:"class,omitempty"`
	Agency    string        `json:"agency_code,omitempty"`
	StatusAge int64         `json:"status_age_s"`
	Prev      string        `json:"prev"` // hex SM3 of the previous line; zeros for the first
}

// FromVerdict makes the record of a verdict.
func FromVerdict(v verifier.Verdict, at time.Time, counter string) Record {
	r := Record{Time: at.UTC().Truncate(time.Millisecond), Counter: counter, Code: v.Code, Agency: v.AgencyCode, StatusAge: int64(v.StatusAge / time.Second)}
	if v.Licence != nil {
		r.LicenceID, r.Class = v.Licence.ID, v.Licence.Class
	}
	return r
}

var genesis = hex.EncodeToString(make([]byte, gm.SM3Size))

// Log is an open verification log.
//
// Several processes may append to one log file: each Append first reads
// and checks whatever others appended since this Log last looked, and
// continues their chain. The processes must serialise their Appends with a
// lock they all hold (verifier/store holds the store lock); within one
// process a Log is safe for concurrent use.
type Log struct {
	mu     sync.Mutex
	path   string
	repair func(format string, args ...any) // nil: report a torn last line as tampering
	f      *os.File
	off    int64 // bytes checked
	seq    uint64
	prev   string
}

// Open opens (creating it) the log at path and checks its chain.
func Open(path string) (*Log, error) { return open(path, nil) }

// OpenRepairing is Open for a caller that holds one lock, shared by every
// process, across each Append: then a last line without its end of line
// can only be an append that a crash interrupted (its check never
// returned), and it is cut off instead of being reported as tampering;
// logf, if set, is told. A broken line anywhere else is still tampering.
func OpenRepairing(path string, logf func(format string, args ...any)) (*Log, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return open(path, logf)
}

func open(path string, repair func(format string, args ...any)) (*Log, error) {
	l := &Log{path: path, repair: repair}
	if err := l.catchUp(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// catchUp checks the lines appended since the last call, reopening the
// file (and checking it from its start) when it was replaced, for example
// moved aside after damage.
func (l *Log) catchUp() error {
	if l.f != nil {
		fi, err := os.Stat(l.path)
		held, herr := l.f.Stat()
		if herr != nil {
			return fmt.Errorf("vlog: %w", herr)
		}
		if err != nil || !os.SameFile(fi, held) {
			l.f.Close()
			l.f = nil
		}
	}
	if l.f == nil {
		f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("vlog: %w", err)
		}
		l.f, l.off, l.seq, l.prev = f, 0, 0, genesis
	}
	fi, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("vlog: %w", err)
	}
	size := fi.Size()
	switch {
	case size < l.off:
		return fmt.Errorf("%w: the file shrank from %d to %d bytes", ErrTampered, l.off, size)
	case size == l.off:
		return nil
	}
	if l.repair != nil {
		if size, err = l.cutTornLine(size); err != nil {
			return err
		}
		if size == l.off {
			return nil
		}
	}
	tail := io.NewSectionReader(l.f, l.off, size-l.off)
	n, last, err := verifyFrom(tail, nil, l.seq, l.prev)
	if err != nil {
		return err
	}
	var end [1]byte
	if _, err := l.f.ReadAt(end[:], size-1); err != nil {
		return fmt.Errorf("vlog: %w", err)
	}
	if end[0] != '\n' {
		return fmt.Errorf("%w: line %d is incomplete (no end of line)", ErrTampered, n)
	}
	l.off, l.seq, l.prev = size, n, last
	return nil
}

// RepairTail cuts off an unfinished last line of the log at path, under
// the same condition as OpenRepairing (the caller holds the lock every
// append is made under), without checking the chain. A missing file is
// left missing.
func RepairTail(path string, logf func(format string, args ...any)) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vlog: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("vlog: %w", err)
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	_, err = (&Log{path: path, f: f, repair: logf}).cutTornLine(fi.Size())
	return err
}

// cutTornLine cuts off an unfinished last line, after the last end of
// line at or beyond what was already checked, and returns the new size.
func (l *Log) cutTornLine(size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	end := size
	for end > l.off {
		n := min(int64(len(buf)), end-l.off)
		if _, err := l.f.ReadAt(buf[:n], end-n); err != nil {
			return size, fmt.Errorf("vlog: %w", err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return size, nil
	}
	if err := l.f.Truncate(end); err != nil {
		return size, fmt.Errorf("vlog: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return size, fmt.Errorf("vlog: %w", err)
	}
	l.repair("vlog: %s: cut off an unfinished last line of %d bytes (an append a crash interrupted)", l.path, size-end)
	return end, nil
}

// Append writes r (its Seq and Prev are set here, after the lines other
// processes appended) and syncs.
func (l *Log) Append(r Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.catchUp(); err != nil {
		return err
	}
	r.Seq, r.Prev = l.seq+1, l.prev
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if _, err := l.f.Write(line); err != nil {
		return fmt.Errorf("vlog: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("vlog: %w", err)
	}
	h := gm.SM3(line[:len(line)-1])
	l.off += int64(len(line))
	l.seq, l.prev = r.Seq, hex.EncodeToString(h[:])
	return nil
}

// Close closes the log.
func (l *Log) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// Verify checks the chain of the log read from r, copying each good line
// to w when w is not nil. It returns the number of records and the hash of
// the last line.
func Verify(r io.Reader, w io.Writer) (n uint64, last string, err error) { return verify(r, w) }

func verify(r io.Reader, w io.Writer) (uint64, string, error) {
	if s, ok := r.(io.Seeker); ok {
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return 0, "", err
		}
	}
	return verifyFrom(r, w, 0, genesis)
}

// verifyFrom checks lines that follow record n whose line hashes to prev.
func verifyFrom(r io.Reader, w io.Writer, n uint64, prev string) (uint64, string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sc.Split(wholeLines)
	for sc.Scan() {
		line := sc.Bytes()
		var rec Record
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return n, prev, fmt.Errorf("%w: line %d: %v", ErrTampered, n+1, err)
		}
		if again, _ := json.Marshal(rec); !bytes.Equal(again, line) {
			return n, prev, fmt.Errorf("%w: line %d is not as written", ErrTampered, n+1)
		}
		if rec.Seq != n+1 || rec.Prev != prev {
			return n, prev, fmt.Errorf("%w: line %d: sequence %d or chain hash does not follow line %d", ErrTampered, n+1, rec.Seq, n)
		}
		if w != nil {
			if _, err := w.Write(append(append([]byte(nil), line...), '\n')); err != nil {
				return n, prev, err
			}
		}
		h := gm.SM3(line)
		prev, n = hex.EncodeToString(h[:]), n+1
	}
	if err := sc.Err(); err != nil {
		return n, prev, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	return n, prev, nil
}

// errIncomplete: the log ends in a line without its end of line.
var errIncomplete = errors.New("the last line is incomplete (no end of line)")

// wholeLines splits the log into lines, each ended by '\n'. Unlike
// bufio.ScanLines it does not take a last line without its end of line:
// every line the log's writer wrote ends in one, so such a line is an
// append cut short, never a record.
func wholeLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return 0, nil, errIncomplete
	}
	return 0, nil, nil
}

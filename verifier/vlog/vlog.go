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
type Log struct {
	mu   sync.Mutex
	f    *os.File
	seq  uint64
	prev string
}

// Open opens (creating it) the log at path and checks its chain.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vlog: %w", err)
	}
	n, last, err := verify(f, nil)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Log{f: f, seq: n, prev: last}, nil
}

// Append writes r (its Seq and Prev are set here) and syncs.
func (l *Log) Append(r Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	r.Seq, r.Prev = l.seq+1, l.prev
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("vlog: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("vlog: %w", err)
	}
	h := gm.SM3(line)
	l.seq, l.prev = r.Seq, hex.EncodeToString(h[:])
	return nil
}

// Close closes the log.
func (l *Log) Close() error { return l.f.Close() }

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
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prev, n := genesis, uint64(0)
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

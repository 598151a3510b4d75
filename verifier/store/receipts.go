package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"elicense/certs/receipt"
	"elicense/internal/atomicfile"
	"elicense/verifier"
)

// The receipt queue (receipts.jsonl) holds the counter receipts of
// docs/consent.md §9 not yet uploaded, oldest first, one per line in the
// upload's own JSON form ({"id","at","verdict","licence"}). Every front
// end's Checker appends to it under the store lock, with an fsync, when
// a verification's token parsed (the verdict names a licence) and the
// trust bundle names a receipt key; UploadReceipts removes a batch only
// after the issuer's 200 answer, by rewriting the file atomically under
// the lock. A line names no holder, code or field value: the licence is
// sealed to the platform's receipt key at verification time.
const receiptsFile = "receipts.jsonl"

// maxReceiptLine bounds one queue line: a receipt's JSON is well under it.
const maxReceiptLine = 2048

// UploadPath is the issuer's receipt endpoint, under its base URL.
const UploadPath = "/v1/receipts"

// queue is the receipt queue file of one store. Its methods are called
// with the store lock held.
type queue struct{ path string }

// QueueDamagedError: a line of the receipt queue does not parse. Checks
// go on (they only append to the queue); nothing is uploaded until the
// operator repairs it. It matches ErrDamaged.
type QueueDamagedError struct {
	Path     string // the queue file
	Problem  string // which line, and what is wrong with it
	Recovery string // what the operator does about it
}

func (e *QueueDamagedError) Error() string {
	return fmt.Sprintf("store: receipt queue %s is damaged (%s); no receipt is uploaded until it is repaired: %s", e.Path, e.Problem, e.Recovery)
}

// Is makes errors.Is(err, ErrDamaged) hold.
func (e *QueueDamagedError) Is(target error) bool { return target == ErrDamaged }

func (q queue) damaged(problem string) error {
	return &QueueDamagedError{Path: q.path, Problem: problem, Recovery: fmt.Sprintf(
		"stop elicense-verify on this store and move %s aside; the receipts in it are then not uploaded", filepath.Base(q.path))}
}

// add appends r, syncs, and first cuts off a line a crash left half
// written (an append whose check never returned).
func (q queue) add(r receipt.Receipt) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := openAppend(q.path)
	if err != nil {
		return fmt.Errorf("store: receipt queue: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: receipt queue: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return q.damaged("not a regular file")
	}
	size := fi.Size()
	var sep []byte
	if size == 0 {
		// A new file: its directory entry must survive a crash too.
		if err := atomicfile.SyncDir(filepath.Dir(q.path)); err != nil {
			return fmt.Errorf("store: receipt queue: %w", err)
		}
	} else if sep, err = q.cutTornTail(f, size); err != nil {
		return err
	}
	if _, err := f.Write(append(append(sep, line...), '\n')); err != nil {
		return fmt.Errorf("store: receipt queue: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: receipt queue: %w", err)
	}
	return nil
}

// cutTornTail truncates f (of size bytes) after its last newline when it
// does not end in one. A last line too long to be a torn receipt is
// damage, not a crash's: it is kept for read to report, and sep (a
// newline) starts the new line after it, so that checks go on.
func (q queue) cutTornTail(f *os.File, size int64) (sep []byte, err error) {
	n := min(size, maxReceiptLine)
	tail := make([]byte, n)
	if _, err := f.ReadAt(tail, size-n); err != nil {
		return nil, fmt.Errorf("store: receipt queue: %w", err)
	}
	if tail[n-1] == '\n' {
		return nil, nil
	}
	i := bytes.LastIndexByte(tail, '\n')
	if i < 0 && size > n {
		return []byte{'\n'}, nil
	}
	if err := f.Truncate(size - n + int64(i) + 1); err != nil {
		return nil, fmt.Errorf("store: receipt queue: %w", err)
	}
	return nil, nil
}

// read parses the queue: every whole line (a torn last line, which
// add cuts off before appending, is not a receipt yet).
func (q queue) read() ([]receipt.Receipt, error) {
	data, err := os.ReadFile(q.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: receipt queue: %w", err)
	}
	return q.parse(data)
}

// parse reads a queue file's content.
func (q queue) parse(data []byte) ([]receipt.Receipt, error) {
	if i := bytes.LastIndexByte(data, '\n'); i < len(data)-1 {
		data = data[:i+1]
	}
	var out []receipt.Receipt
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		r, err := receipt.ParseReceipt(line)
		if err != nil {
			return nil, q.damaged(fmt.Sprintf("line %d: %v", n, err))
		}
		out = append(out, r)
		data = rest
	}
	return out, nil
}

// remove drops the receipts whose ids are in done, keeping the rest (and
// any appended since they were read) in order.
func (q queue) remove(done map[string]bool) error {
	all, err := q.read()
	if err != nil {
		return err
	}
	var out []byte
	for _, r := range all {
		if done[r.ID] {
			continue
		}
		line, _ := json.Marshal(r)
		out = append(append(out, line...), '\n')
	}
	return writeAtomic(q.path, out)
}

// receiptOf is the receipt of a verdict that names a licence, sealed to
// the bundle's receipt key; ok is false when there is none to make (no
// licence, or a bundle without a receipt key).
func receiptOf(v *verifier.Verifier, vd verifier.Verdict, now time.Time) (r receipt.Receipt, ok bool, err error) {
	if vd.Licence == nil {
		return r, false, nil
	}
	b := v.State().Bundle
	if b == nil {
		return r, false, nil
	}
	pub, _, ok := b.ReceiptPublicKey(now)
	if !ok {
		return r, false, nil
	}
	r, err = receipt.New(pub, now, string(vd.Code), vd.Licence.ID, vd.DeviceKey)
	if err != nil {
		return r, false, fmt.Errorf("store: receipt: %w", err)
	}
	return r, true, nil
}

// withLock runs fn holding the store's file lock.
func (s *Store) withLock(fn func() error) error {
	lock, err := openLock(s.dir)
	if err != nil {
		return err
	}
	defer lock.close()
	if err := lock.lock(); err != nil {
		return err
	}
	defer lock.unlock()
	return fn()
}

func (s *Store) queue() queue { return queue{path: filepath.Join(s.dir, receiptsFile)} }

// PendingReceipts is the number of receipts waiting to be uploaded. A
// queue line that does not parse is a *QueueDamagedError.
func (s *Store) PendingReceipts() (int, error) {
	var n int
	err := s.withLock(func() error {
		rs, err := s.queue().read()
		n = len(rs)
		return err
	})
	return n, err
}

// UploadOptions configure UploadReceipts.
type UploadOptions struct {
	// To is the issuer's base URL (UploadPath is appended).
	To string
	// Token is a counter token of the issuer (elicense token create
	// --role counter).
	Token string
	// Batch is the most receipts per request; 0 or more than
	// receipt.MaxBatch: receipt.MaxBatch.
	Batch int
	// Client sends the requests; nil: a client with a one-minute timeout.
	Client *http.Client
}

// UploadResult is what an upload did.
type UploadResult struct {
	// Answer sums the issuer's answers to the batches it took.
	receipt.Answer
	// Batches is the number of batches the issuer answered.
	Batches int
	// Left is the number of receipts still queued.
	Left int
}

// UploadError is an issuer's refusal of a batch (any answer but 200).
type UploadError struct {
	Status  int    // the HTTP status
	Code    string // the issuer's error code, when it sent one
	Message string // its message, or the start of the body
}

func (e *UploadError) Error() string {
	return fmt.Sprintf("receipts: the issuer answered %d %s: %s", e.Status, e.Code, e.Message)
}

// UploadReceipts sends the queued receipts to the issuer, oldest first,
// in batches, and removes each batch from the queue only once the issuer
// has answered it 200: a batch whose answer was lost stays and is sent
// again, and the issuer counts it as duplicates (receipt ids are taken
// once). It stops at the first failure (unreachable issuer, refusal),
// keeping what was not answered, and returns what it did with the error.
// Receipts other processes queue meanwhile are kept; two uploads at once
// may send a batch twice, which the issuer also counts as duplicates.
func (s *Store) UploadReceipts(ctx context.Context, opts UploadOptions) (UploadResult, error) {
	var res UploadResult
	if opts.Batch <= 0 || opts.Batch > receipt.MaxBatch {
		opts.Batch = receipt.MaxBatch
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: time.Minute}
	}
	u, err := url.Parse(opts.To)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return res, fmt.Errorf("receipts: %q is not an http(s) issuer URL", opts.To)
	}
	endpoint := strings.TrimSuffix(opts.To, "/") + UploadPath
	q := s.queue()
	for {
		var batch []receipt.Receipt
		err := s.withLock(func() error {
			all, err := q.read()
			batch, res.Left = all[:min(len(all), opts.Batch)], len(all)
			return err
		})
		if err != nil || len(batch) == 0 {
			return res, err
		}
		ans, err := postBatch(ctx, opts.Client, endpoint, opts.Token, batch)
		if err != nil {
			return res, err
		}
		done := make(map[string]bool, len(batch))
		for _, r := range batch {
			done[r.ID] = true
		}
		if err := s.withLock(func() error { return q.remove(done) }); err != nil {
			return res, err
		}
		res.Batches++
		res.Accepted += ans.Accepted
		res.Duplicates += ans.Duplicates
		res.Unknown += ans.Unknown
		res.Left -= len(batch)
	}
}

// postBatch sends one batch and reads the issuer's answer.
func postBatch(ctx context.Context, c *http.Client, endpoint, token string, batch []receipt.Receipt) (receipt.Answer, error) {
	var ans receipt.Answer
	body, err := json.Marshal(receipt.Batch{Receipts: batch})
	if err != nil {
		return ans, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return ans, fmt.Errorf("receipts: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return ans, fmt.Errorf("receipts: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return ans, fmt.Errorf("receipts: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		ue := &UploadError{Status: resp.StatusCode}
		var e struct{ Code, Message string }
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			ue.Code, ue.Message = e.Code, e.Message
		} else {
			ue.Message = string(data[:min(len(data), 200)])
		}
		return ans, ue
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ans); err != nil || ans.Total() != len(batch) || ans.Accepted < 0 || ans.Duplicates < 0 || ans.Unknown < 0 {
		return receipt.Answer{}, fmt.Errorf("receipts: the issuer's answer %.200q does not account for the %d receipts sent", data, len(batch))
	}
	return ans, nil
}

package csvimport

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"elicense/certs/catalog"
	"elicense/internal/gm"
	"elicense/issuer/service"
)

// Options configure Run.
type Options struct {
	// Server is the issuer's base URL (required), e.g. http://127.0.0.1:8080.
	Server string
	// Token is the operator token sent as a bearer token (required).
	Token string
	// Class is the class every row belongs to (required).
	Class *catalog.Class
	// Batch is the number of licences per request, 1..1000; 0 means 500.
	Batch int
	// Client sends the requests; nil means a client with a 5-minute timeout.
	Client *http.Client
	// Reject is called for each rejected row, once per bad field (field is
	// empty when the row as a whole is wrong). Nil ignores rejections
	// beyond counting them.
	Reject func(line int, field, reason string)
	// Progress is called with the number of input bytes read so far; nil
	// means no progress reports.
	Progress func(bytesRead int64)
}

// Result counts what happened to the rows.
type Result struct {
	Rows     int // data rows read
	Issued   int // issued by this run
	Existing int // issued by an earlier run under the same idempotency key
	Rejected int // refused, locally or by the server
}

// MaxBatch is the largest batch the issuer takes in one request.
const MaxBatch = 1000

// row is one CSV row ready to send.
type row struct {
	line int
	req  service.IssueRequest
}

type importer struct {
	opts Options
	res  Result
}

// Run reads the CSV in r (a header row naming the columns by field key or
// Chinese label, plus the optional columns number/证照编号 and
// issued_on/颁证日期) and issues its rows. It returns what it did so far
// with an error when the header is unusable, the server fails or ctx ends;
// running it again with the same input continues where it stopped.
func Run(ctx context.Context, r io.Reader, opts Options) (Result, error) {
	switch {
	case opts.Server == "" || opts.Token == "" || opts.Class == nil:
		return Result{}, errors.New("csvimport: Server, Token and Class are required")
	case opts.Batch == 0:
		opts.Batch = 500
	case opts.Batch < 1 || opts.Batch > MaxBatch:
		return Result{}, fmt.Errorf("csvimport: batch of %d, want 1..%d", opts.Batch, MaxBatch)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 5 * time.Minute}
	}
	opts.Server = strings.TrimSuffix(opts.Server, "/")
	if opts.Progress != nil {
		r = &countingReader{r: r, progress: opts.Progress}
	}
	im := &importer{opts: opts}
	err := im.run(ctx, csv.NewReader(r))
	return im.res, err
}

type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.progress(c.n)
	return n, err
}

// reject reports a row, with one report line per bad field.
func (im *importer) reject(line int, fieldReasons ...string) {
	im.res.Rejected++
	if im.opts.Reject == nil {
		return
	}
	for i := 0; i+1 < len(fieldReasons); i += 2 {
		im.opts.Reject(line, fieldReasons[i], fieldReasons[i+1])
	}
}

// columns maps the header row onto field keys, "@number" and "@issued_on".
func columns(cl *catalog.Class, header []string) ([]string, error) {
	cols := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		switch {
		case h == "number" || h == "证照编号":
			cols[i] = "@number"
		case h == "issued_on" || h == "颁证日期":
			cols[i] = "@issued_on"
		default:
			for _, f := range cl.Fields {
				if f.Key == h || f.Label == h {
					cols[i] = f.Key
				}
			}
			if cols[i] == "" {
				return nil, fmt.Errorf("header column %d %q is not a field of %s", i+1, h, cl.Key)
			}
		}
	}
	return cols, nil
}

func (im *importer) run(ctx context.Context, r *csv.Reader) error {
	cl := im.opts.Class
	r.FieldsPerRecord = 0
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("reading the header row: %w", err)
	}
	cols, err := columns(cl, header)
	if err != nil {
		return err
	}
	var pending []row
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		im.res.Rows++
		if err != nil {
			im.reject(line, "", err.Error())
			continue
		}
		req := service.IssueRequest{Class: cl.Key, Fields: map[string]string{}}
		for i, v := range rec {
			v = strings.TrimSpace(v)
			switch cols[i] {
			case "@number":
				req.Number = v
			case "@issued_on":
				req.IssuedOn = v
			default:
				if v != "" {
					req.Fields[cols[i]] = v
				}
			}
		}
		if err := cl.Validate(req.Fields); err != nil {
			var ve *catalog.ValidationError
			if errors.As(err, &ve) {
				var pairs []string
				for _, fe := range ve.Fields {
					pairs = append(pairs, fe.Field, fe.Reason)
				}
				im.reject(line, pairs...)
			} else {
				im.reject(line, "", err.Error())
			}
			continue
		}
		req.ImportKey = Key(cl.Key, req)
		pending = append(pending, row{line: line, req: req})
		if len(pending) == im.opts.Batch {
			if err := im.send(ctx, pending); err != nil {
				return err
			}
			pending = pending[:0]
		}
	}
	if len(pending) > 0 {
		return im.send(ctx, pending)
	}
	return nil
}

// Key is a row's idempotency key: SM3 of the class and the row's canonical
// JSON, so a re-run, or the same row in a corrected file, maps to the
// licence already issued.
func Key(class string, req service.IssueRequest) string {
	b, _ := json.Marshal([]any{class, req.Fields, req.Number, req.IssuedOn})
	h := gm.SM3(b)
	return hex.EncodeToString(h[:16])
}

// send issues one batch. A 503 (a restarting server) is retried with
// back-off: the idempotency keys make that safe.
func (im *importer) send(ctx context.Context, rows []row) error {
	reqs := make([]service.IssueRequest, len(rows))
	for i, r := range rows {
		reqs[i] = r.req
	}
	body, _ := json.Marshal(map[string]any{"licences": reqs})
	var resp *http.Response
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, "POST", im.opts.Server+"/v1/licences", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+im.opts.Token)
		resp, err = im.opts.Client.Do(req)
		if err == nil && resp.StatusCode != http.StatusServiceUnavailable {
			break
		}
		if resp != nil {
			resp.Body.Close()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(1<<attempt) * 200 * time.Millisecond):
		}
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusMultiStatus {
		var e struct{ Code, Message string }
		json.Unmarshal(data, &e)
		return fmt.Errorf("server answered %d %s: %s", resp.StatusCode, e.Code, e.Message)
	}
	var out struct {
		Results []struct {
			Index   int
			Licence *struct {
				ID       string `json:"id"`
				Existing bool   `json:"existing"`
			}
			Error *struct{ Code, Message, Field string }
		}
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return fmt.Errorf("unreadable server answer: %w", err)
	}
	for _, r := range out.Results {
		if r.Index < 0 || r.Index >= len(rows) {
			continue
		}
		switch {
		case r.Error != nil:
			im.reject(rows[r.Index].line, r.Error.Field, r.Error.Message)
		case r.Licence != nil && r.Licence.Existing:
			im.res.Existing++
		default:
			im.res.Issued++
		}
	}
	return nil
}

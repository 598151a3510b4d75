package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"elicense/certs/catalog"
	"elicense/internal/gm"
	"elicense/issuer/service"

	"github.com/schollz/progressbar/v3"
)

func init() {
	register(&command{
		name:    "import",
		summary: "bulk-issue licences from a CSV file (existing paper licences)",
		usage: `
Usage: elicense import --class CLASS [--server URL] [--token-file FILE]
                       [--report FILE] [--batch N] licences.csv

Streams a CSV of existing licences of one class to the server and issues
them in batches. The header row names the columns by field key (legal_rep)
or by the field's Chinese label (法定代表人); two optional columns, number
(证照编号) and issued_on (颁证日期, YYYY-MM-DD), carry the paper licence's
number and date. Every row is validated against the class before it is
sent; rejected rows, with the reason and field, go to the report file
(default: the input with .rejected.csv appended) and the rest go on.

Safe to re-run after an interruption or with a corrected file: each row is
sent with an idempotency key derived from its content, so a row issued
before is not issued again and nothing is lost. A progress bar shows rows,
rate and ETA on stderr; the summary goes to stdout.

The operator token comes from --token-file, else ELICENSE_TOKEN.

Exit status: 0 when every row was issued (or had been), 1 when some were
rejected or the server failed, 2 on usage errors.

Examples:
  elicense import --class 营业执照 --token-file clerk.token licences.csv
  ELICENSE_TOKEN=$(cat clerk.token) elicense import --class business-license --server http://127.0.0.1:8080 bl.csv
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("class", "", "licence `class`: key, type code or Chinese name (required)")
			fs.String("server", "http://"+defaultAddr, "server base `URL`")
			fs.String("token-file", "", "read the operator token from `file`")
			fs.String("report", "", "rejected-rows report `file` (default INPUT.rejected.csv)")
			fs.Int("batch", 500, "licences per request (1..1000)")
		},
		run: runImport,
	})
}

// importRow is one CSV row ready to send.
type importRow struct {
	line int
	req  service.IssueRequest
}

func runImport(e *env, fs *flag.FlagSet) int {
	if fs.NArg() < 1 {
		return usageError(e, "import", "name the CSV file")
	}
	input := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return usageError(e, "import", "%v", err)
	}
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	cl, ok := catalog.Default().Lookup(get("class"))
	if !ok {
		return usageError(e, "import", "unknown --class %q", get("class"))
	}
	batch := fs.Lookup("batch").Value.(flag.Getter).Get().(int)
	if batch < 1 || batch > 1000 {
		return usageError(e, "import", "--batch must be 1..1000")
	}
	token, err := operatorToken(e, get("token-file"))
	if err != nil {
		return usageError(e, "import", "%v", err)
	}
	f, err := os.Open(input)
	if err != nil {
		return usageError(e, "import", "%v", err)
	}
	defer f.Close()
	st, _ := f.Stat()
	reportPath := get("report")
	if reportPath == "" {
		reportPath = input + ".rejected.csv"
	}
	rf, err := os.Create(reportPath)
	if err != nil {
		return usageError(e, "import", "%v", err)
	}
	defer rf.Close()
	report := csv.NewWriter(rf)
	report.Write([]string{"line", "field", "reason"})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	bar := progressbar.NewOptions64(st.Size(), progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("importing "+cl.NameZH),
		progressbar.OptionShowBytes(true), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish())
	counted := &countingReader{r: f, bar: bar}
	im := &importer{e: e, server: strings.TrimSuffix(get("server"), "/"), token: token, report: report,
		client: &http.Client{Timeout: 5 * time.Minute}}
	err = im.run(ctx, cl, csv.NewReader(counted), batch)
	bar.Finish()
	fmt.Fprintln(e.stderr)
	report.Flush()
	fmt.Fprintf(e.stdout, "%d rows: %d issued, %d already issued earlier, %d rejected (see %s)\n",
		im.rows, im.issued, im.existing, im.rejected, reportPath)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense import: %v\nRe-run the same command to continue; rows already issued are skipped.\n", err)
		return exitFail
	}
	if im.rejected > 0 {
		return exitFail
	}
	return exitOK
}

type countingReader struct {
	r   io.Reader
	bar *progressbar.ProgressBar
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bar.Add(n)
	return n, err
}

type importer struct {
	e                                *env
	server, token                    string
	report                           *csv.Writer
	client                           *http.Client
	rows, issued, existing, rejected int
}

// reject reports a row, with one report line per bad field.
func (im *importer) reject(line int, fieldReasons ...string) {
	im.rejected++
	for i := 0; i+1 < len(fieldReasons); i += 2 {
		im.report.Write([]string{fmt.Sprint(line), fieldReasons[i], fieldReasons[i+1]})
	}
}

func (im *importer) run(ctx context.Context, cl *catalog.Class, r *csv.Reader, batch int) error {
	r.FieldsPerRecord = 0
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("reading the header row: %w", err)
	}
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
				return fmt.Errorf("header column %d %q is not a field of %s", i+1, h, cl.Key)
			}
		}
	}
	var pending []importRow
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			im.rows++
			im.reject(line, "", err.Error())
			continue
		}
		im.rows++
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
		req.ImportKey = importKey(cl.Key, req)
		pending = append(pending, importRow{line: line, req: req})
		if len(pending) == batch {
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

// importKey is the row's idempotency key: SM3 of the class and the row's
// canonical JSON, so a re-run, or the same row in a corrected file, maps
// to the licence already issued.
func importKey(class string, req service.IssueRequest) string {
	b, _ := json.Marshal([]any{class, req.Fields, req.Number, req.IssuedOn})
	h := gm.SM3(b)
	return hex.EncodeToString(h[:16])
}

func (im *importer) send(ctx context.Context, rows []importRow) error {
	reqs := make([]service.IssueRequest, len(rows))
	for i, r := range rows {
		reqs[i] = r.req
	}
	body, _ := json.Marshal(map[string]any{"licences": reqs})
	var resp *http.Response
	var err error
	for attempt := 0; attempt < 5; attempt++ { // a restarting server is retried; keys make that safe
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, "POST", im.server+"/v1/licences", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+im.token)
		resp, err = im.client.Do(req)
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
			im.existing++ // issued by an earlier run under the same key
		default:
			im.issued++
		}
	}
	return nil
}

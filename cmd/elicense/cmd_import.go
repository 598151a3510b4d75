package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"time"

	"elicense/certs/catalog"
	"elicense/issuer/csvimport"

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
	if batch < 1 || batch > csvimport.MaxBatch {
		return usageError(e, "import", "--batch must be 1..%d", csvimport.MaxBatch)
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
	res, err := csvimport.Run(ctx, f, csvimport.Options{
		Server: get("server"), Token: token, Class: cl, Batch: batch,
		Reject:   func(line int, field, reason string) { report.Write([]string{strconv.Itoa(line), field, reason}) },
		Progress: func(n int64) { bar.Set64(n) },
	})
	bar.Finish()
	fmt.Fprintln(e.stderr)
	report.Flush()
	fmt.Fprintf(e.stdout, "%d rows: %d issued, %d already issued earlier, %d rejected (see %s)\n",
		res.Rows, res.Issued, res.Existing, res.Rejected, reportPath)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense import: %v\nRe-run the same command to continue; rows already issued are skipped.\n", err)
		return exitFail
	}
	if res.Rejected > 0 {
		return exitFail
	}
	return exitOK
}

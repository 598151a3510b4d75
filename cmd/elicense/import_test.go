package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/ident"
)

// writeCSV writes n business-licence rows (every 97th one with a bad
// 统一社会信用代码) and returns the path and how many rows are valid.
func writeCSV(t *testing.T, dir string, n int) (string, int) {
	sample := loadSamples(t)["business-license"]
	cl, _ := catalog.Default().Lookup("business-license")
	path := filepath.Join(dir, "licences.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	header := []string{"证照编号", "颁证日期"}
	for _, fl := range cl.Fields {
		header = append(header, fl.Label) // Chinese labels, as an agency's export has them
	}
	w.Write(header)
	valid := 0
	for i := range n {
		body := fmt.Sprintf("MA%06d", i)
		oc, _ := ident.OrgCodeCheckChar(body)
		first17 := "91310115" + body + string(oc)
		cc, _ := ident.USCCCheckChar(first17)
		uscc := first17 + string(cc)
		if i%97 == 96 {
			uscc = first17 + "I" // not even in the alphabet
		} else {
			valid++
		}
		row := []string{fmt.Sprintf("3101150%08d", i), "2019-04-18"}
		for _, fl := range cl.Fields {
			v := sample[fl.Key]
			switch fl.Key {
			case "uscc":
				v = uscc
			case "name":
				v = fmt.Sprintf("上海示例第%d号科技有限公司", i)
			}
			row = append(row, v)
		}
		w.Write(row)
	}
	w.Flush()
	f.Close()
	return path, valid
}

func TestImportEndToEnd(t *testing.T) {
	const rows = 1000
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	s := startServer(t, data)
	defer s.stop(t)
	tokFile := filepath.Join(dir, "clerk.token")
	tok := elicense(t, []string{"ELICENSE_PASSPHRASE_FILE=" + filepath.Join(data, "passphrase")},
		"token", "create", "--subject", "importer", "--role", "operator", "--agency", "11310000PDY100010H", "--data", data, "--ttl", "1h")
	tok.want(t, 0)
	os.WriteFile(tokFile, []byte(tok.stdout), 0o600)

	csvPath, valid := writeCSV(t, dir, rows)
	bin, _ := binary()

	// Interrupt a first run hard, part way.
	cmd := newCmd(bin, "import", "--class", "营业执照", "--server", s.url, "--token-file", tokFile, "--batch", "100", csvPath)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	// Re-running finishes the job without duplicates.
	r := elicense(t, nil, "import", "--class", "营业执照", "--server", s.url, "--token-file", tokFile, csvPath)
	r.want(t, 1) // some rows are rejected
	wantSummary := fmt.Sprintf("%d rows: ", rows)
	if !strings.HasPrefix(r.stdout, wantSummary) || !strings.Contains(r.stdout, fmt.Sprintf("%d rejected", rows-valid)) {
		t.Fatalf("summary: %s", r.stdout)
	}
	var ready struct {
		LedgerSize int `json:"ledger_size"`
	}
	s.call(t, "GET", "/readyz", "", nil, &ready)
	if ready.LedgerSize != valid {
		t.Fatalf("ledger has %d issuances, want exactly %d (no duplicates, nothing lost)", ready.LedgerSize, valid)
	}
	report, _ := os.ReadFile(csvPath + ".rejected.csv")
	if lines := strings.Count(string(report), "\n"); lines != rows-valid+1 || !strings.Contains(string(report), "uscc") {
		t.Fatalf("report has %d lines:\n%s", lines, report)
	}

	// A third run issues nothing new.
	r = elicense(t, nil, "import", "--class", "business-license", "--server", s.url, "--token-file", tokFile, csvPath)
	if !strings.Contains(r.stdout, fmt.Sprintf(": 0 issued, %d already issued earlier", valid)) {
		t.Fatalf("third run: %s", r.stdout)
	}
	s.call(t, "GET", "/readyz", "", nil, &ready)
	if ready.LedgerSize != valid {
		t.Fatalf("third run changed the ledger: %d", ready.LedgerSize)
	}
}

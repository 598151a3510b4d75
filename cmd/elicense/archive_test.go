package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	format "elicense/certs/archive"
	"elicense/certs/catalog"
	"elicense/certs/ledgerevent"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
	"elicense/internal/ledger"
	"elicense/internal/proccpu"
	"elicense/issuer/archive"
	"elicense/issuer/pki"
	"elicense/issuer/service"
	"elicense/issuer/state"
	"elicense/issuer/state/statetest"
	varchive "elicense/verifier/archive"
)

type archiveStatus struct {
	mu   sync.Mutex
	next uint64
}

func (m *archiveStatus) Allocate(string) (string, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	return "L1", m.next, nil
}
func (m *archiveStatus) Set(string, uint64, state.Status) error { return nil }
func (m *archiveStatus) Release(string, uint64)                 {}
func (m *archiveStatus) URI(string) string                      { return "http://127.0.0.1/v1/status/L1" }

type archiveFixture struct {
	svc    *service.Service
	data   *service.Data
	agency string
	now    atomic.Pointer[time.Time] // the service's clock (its housekeeping reads it too)
}

func (f *archiveFixture) set(t time.Time) { f.now.Store(&t) }

// newArchiveFixture issues n licences of one agency, one hour apart from
// t0, suspends the second, revokes the third and re-issues the first.
func newArchiveFixture(t testing.TB, n int, t0 time.Time) *archiveFixture {
	t.Helper()
	return newArchiveFixtureOf(t, n, t0, fixtureOptions{})
}

// fixtureOptions: the catalogue the service issues with (nil: the
// built-in one) and the index of the agency's class it issues.
type fixtureOptions struct {
	Catalog *catalog.Catalog
	Class   int
}

// newArchiveFixtureOf is newArchiveFixture with o's catalogue and class.
func newArchiveFixtureOf(t testing.TB, n int, t0 time.Time, o fixtureOptions) *archiveFixture {
	t.Helper()
	dir := t.TempDir()
	if _, err := pki.Init(pki.InitOptions{Dir: filepath.Join(dir, "pki"), Passphrase: []byte("pw"),
		Agencies: pki.DefaultAgencies(), KeyEncryption: &gm.KeyEncryption{Iterations: 1000}}); err != nil {
		t.Fatal(err)
	}
	p, err := pki.Load(filepath.Join(dir, "pki"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := service.OpenData(statetest.Open(t, dir), ledger.Options{Origin: "test/ledger", Signer: p.Ledger.Signer, CheckpointInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() })
	audit, _ := ledgerevent.NewAuditKey(bytes.Repeat([]byte{7}, ledgerevent.AuditKeySize))
	f := &archiveFixture{data: data}
	f.set(t0)
	svc, err := service.New(service.Options{Catalog: o.Catalog, PKI: p, Store: data.Store, Ledger: data.Ledger, Status: &archiveStatus{},
		Audit: audit, Passphrase: []byte("pw"), Now: func() time.Time { return *f.now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	f.svc = svc
	ag := p.Agencies[0]
	f.agency = ag.Code
	cat := o.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	cl, _ := cat.Lookup(ag.Classes[o.Class])
	op := service.Operator{Subject: "clerk", Role: service.RoleAdmin}
	ctx := context.Background()
	var ids []string
	sample := issuertest.Sample(t, cl.Key)
	if n <= 10 {
		for i := range n {
			f.set(t0.Add(time.Duration(i) * time.Minute))
			is, err := svc.Issue(ctx, op, service.IssueRequest{Class: cl.Key, Agency: ag.Code, Fields: sample})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, is.Record.ID)
		}
	} else { // many: concurrently, at one time
		var mu sync.Mutex
		var wg sync.WaitGroup
		work := make(chan struct{})
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					is, err := svc.Issue(ctx, op, service.IssueRequest{Class: cl.Key, Agency: ag.Code, Fields: sample})
					if err != nil {
						t.Error(err)
						continue
					}
					mu.Lock()
					ids = append(ids, is.Record.ID)
					mu.Unlock()
				}
			}()
		}
		for range n {
			work <- struct{}{}
		}
		close(work)
		wg.Wait()
		slices.Sort(ids)
	}
	f.set(t0.Add(time.Duration(min(n, 10)) * time.Minute))
	if n >= 3 {
		if _, err := svc.ChangeStatus(ctx, op, ids[1], service.ActionSuspend, "核查"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ChangeStatus(ctx, op, ids[2], service.ActionRevoke, "吊销"); err != nil {
			t.Fatal(err)
		}
		fields := issuertest.Sample(t, cl.Key)
		fields[cl.HolderNameField] += "（变更）"
		if _, err := svc.Reissue(ctx, op, ids[0], service.ReissueRequest{Fields: fields}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *archiveFixture) export(t testing.TB, from, to time.Time) ([]byte, *archive.Result) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "pkg.zip")
	res, err := exportAndRecord(context.Background(), f.svc, archive.Options{Agency: f.agency, From: from, To: to}, out,
		service.Operator{Subject: "admin", Role: service.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b, res
}

func verifyArchive(t testing.TB, b []byte) *varchive.Report {
	t.Helper()
	rep, err := varchive.Verify(bytes.NewReader(b), int64(len(b)), varchive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestArchive: a package exported from a real service verifies, names
// every version with its events, is recorded in the ledger, comes out the
// same twice, and a changed byte anywhere is found and named.
func TestArchive(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour) // within the fresh PKI's validity
	f := newArchiveFixture(t, 5, t0)
	from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	f.set(to.Add(time.Hour))
	b, res := f.export(t, from, to)
	if res.Count != 6 { // 5 issued + 1 re-issued version
		t.Fatalf("count %d, want 6", res.Count)
	}
	checkArchiveReport(t, verifyArchive(t, b))
	checkArchivePinning(t, f.svc.PKI(), b)
	checkArchiveRecorded(t, f, res)

	// Deterministic: the same period again (after the export's own event
	// and more issuance) gives the same bytes.
	f.set(to.Add(2 * time.Hour))
	again, _ := f.export(t, from, to)
	if !bytes.Equal(b, again) {
		t.Fatal("the same period exported twice gave different bytes")
	}

	// A narrower period holds fewer versions.
	_, part := f.export(t, t0.Add(5*time.Minute), to)
	if part.Count != 4 { // the 3 changed ones and the new version
		t.Errorf("later period: %d versions, want 4", part.Count)
	}

	// A changed byte in each kind of file is found and named.
	for _, target := range []string{format.RootPath, format.CheckpointPath, format.KeysPath, "/" + format.OFDFile, "/" + format.CredentialFile, "/" + format.EventsFile, "/" + format.MetadataFile, format.ManifestPath} {
		t.Run(strings.TrimPrefix(target, "/"), func(t *testing.T) {
			checkArchiveTampered(t, b, target)
		})
	}
}

// checkArchiveReport: the fixture's package verifies with all 6 versions,
// their OFD files and events, and the fixture's statuses.
func checkArchiveReport(t *testing.T, rep *varchive.Report) {
	t.Helper()
	if !rep.OK || len(rep.Licences) != 6 || rep.Pinned {
		t.Fatalf("report: %+v", rep)
	}
	statuses := map[string]int{}
	for _, l := range rep.Licences {
		statuses[l.Status]++
		if l.OFD != "VALID" || l.Events == 0 {
			t.Errorf("%s: %+v", l.ID, l)
		}
	}
	if statuses["superseded"] != 1 || statuses["suspended"] != 1 || statuses["revoked"] != 1 || statuses["valid"] != 3 {
		t.Errorf("statuses %v", statuses)
	}
}

// checkArchivePinning: anchored, the pinned root is the package's, or the
// package fails.
func checkArchivePinning(t *testing.T, p *pki.PKI, b []byte) {
	t.Helper()
	if rep, _ := varchive.Verify(bytes.NewReader(b), int64(len(b)), varchive.Options{Roots: []*gm.Certificate{p.Root}}); !rep.OK || !rep.Pinned {
		t.Errorf("pinned to its own root: %+v", rep.Problems)
	}
	if rep, _ := varchive.Verify(bytes.NewReader(b), int64(len(b)), varchive.Options{Roots: []*gm.Certificate{p.Ledger.Cert}}); rep.OK || rep.Pinned ||
		!strings.Contains(problemText(rep), "not a pinned root") {
		t.Errorf("pinned to another root: %+v", rep.Problems)
	}
}

// checkArchiveRecorded: the last ledger entry is the export of res.
func checkArchiveRecorded(t *testing.T, f *archiveFixture, res *archive.Result) {
	t.Helper()
	raw, err := f.data.Ledger.Entry(f.data.Ledger.Size() - 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ledgerevent.Decode(raw)
	if ae, ok := ev.(*ledgerevent.ArchiveExported); err != nil || !ok || ae.Count != 6 || [32]byte(ae.Manifest) != res.Manifest {
		t.Fatalf("last entry %T %+v %v", ev, ev, err)
	}
}

// checkArchiveTampered: b with a byte changed in the entry ending with
// target fails, and the problems name target (a changed manifest may
// instead make the package unreadable).
func checkArchiveTampered(t *testing.T, b []byte, target string) {
	t.Helper()
	bad := flipIn(t, b, target)
	rep, err := varchive.Verify(bytes.NewReader(bad), int64(len(bad)), varchive.Options{})
	if target == format.ManifestPath {
		if err == nil && rep.OK {
			t.Fatal("a changed manifest verified")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK {
		t.Fatal("a changed byte went unnoticed")
	}
	all := problemText(rep)
	if !strings.Contains(all, strings.TrimPrefix(target, "/")) {
		t.Errorf("problems do not name %s:\n%s", target, all)
	}
}

// problemText is every problem of the report, the package's and each
// licence version's, one a line.
func problemText(rep *varchive.Report) string {
	var lines []string
	for _, p := range rep.Problems {
		lines = append(lines, p.Message)
	}
	for _, l := range rep.Licences {
		for _, p := range l.Problems {
			lines = append(lines, p.Message)
		}
	}
	return strings.Join(lines, "\n")
}

// flipIn changes one byte in the middle of the first stored entry whose
// name ends with suffix (entries are stored, so the bytes are in place).
func flipIn(t *testing.T, pkg []byte, suffix string) []byte {
	t.Helper()
	rep, err := zipEntry(pkg, suffix)
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(pkg)
	out[rep.offset+rep.size/2] ^= 0x01
	return out
}

// BenchmarkArchive measures export and verification rates (licences
// per second) for ELICENSE_ARCHIVE_N licence versions (default 10,000):
//
//	ELICENSE_ARCHIVE_N=10000 go test ./cmd/elicense -run '^$' -bench BenchmarkArchive -benchtime 1x
func BenchmarkArchive(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("ELICENSE_ARCHIVE_N")); err == nil && v > 0 {
		n = v
	}
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	f := newArchiveFixture(b, n, t0)
	from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	f.set(to.Add(time.Hour))
	b.ResetTimer()
	for range b.N {
		start, cpu := time.Now(), proccpu.Used()
		pkg, res := f.export(b, from, to)
		exp, expCPU := time.Since(start), proccpu.Used()-cpu
		start, cpu = time.Now(), proccpu.Used()
		rep := verifyArchive(b, pkg)
		ver, verCPU := time.Since(start), proccpu.Used()-cpu
		if !rep.OK || res.Count != n+1 {
			b.Fatalf("ok %v, count %d", rep.OK, res.Count)
		}
		b.ReportMetric(float64(res.Count)/exp.Seconds(), "export-licences/s")
		b.ReportMetric(float64(res.Count)/ver.Seconds(), "verify-licences/s")
		b.ReportMetric(float64(len(pkg))/float64(res.Count), "bytes/licence")
		// CPU time a licence: what the rates would be on an idle
		// machine's cores, when the wall-clock rates are blurred by load.
		b.ReportMetric(float64(expCPU.Microseconds())/float64(res.Count), "export-cpu-µs/licence")
		b.ReportMetric(float64(verCPU.Microseconds())/float64(res.Count), "verify-cpu-µs/licence")
	}
}

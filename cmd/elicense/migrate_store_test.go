package main

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"elicense/certs/ident"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/service"
)

func TestMigrateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"migrate"},
		{"migrate", "--from", "x"},
		{"migrate", "--from", "x", "--to", "/srv/other"},
		{"migrate", "--from", "x", "--to", "postgres://h/db", "--batch", "0"},
		{"migrate", "--from", "x", "--to", "postgres://h/db", "extra"},
	} {
		if r := elicense(t, nil, args...); r.code != exitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", args, r.code, exitUsage, r.stderr)
		}
	}
}

func TestSerialStart(t *testing.T) {
	id := func(counter string) string {
		l := ident.LicenseID{TypeCode: "11310000PDY100010H001", IssuerCode: "11310000PDY100010H", Serial: "20260301ABCD" + counter, Version: 1}
		if _, err := ident.ParseLicenseID(l.String()); err != nil {
			t.Fatal(err)
		}
		return l.String()
	}
	for _, c := range []struct {
		name  string
		ids   []string
		start uint32
	}{
		{"none", nil, 0},
		{"one at 0", []string{id("0000")}, 1},
		{"a run at the start", []string{id("0000"), id("0001"), id("0002")}, 3},
		{"the longest gap wraps round", []string{id("0010"), id("ZZZ0")}, 37},
		{"not this issuer's serials", []string{"1.2.156.3005.2.x", "nonsense"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sc serialCounters
			for _, i := range c.ids {
				sc.add(i)
			}
			if got := sc.start(); got != c.start {
				t.Errorf("start %d, want %d", got, c.start)
			}
		})
	}
}

// migrated is a licence as the test remembers it across the move.
type migrated struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	LedgerIndex uint64 `json:"ledger_index"`
	ClaimCode   string `json:"claim_code"`
}

// issueMany issues n driving licences in one request and returns them.
func issueMany(t *testing.T, s *server, token string, fields map[string]string, n int) []migrated {
	t.Helper()
	batch := make([]map[string]any, n)
	for i := range batch {
		batch[i] = map[string]any{"class": "drivers-license", "fields": fields}
	}
	var out struct {
		Results []struct{ Licence *migrated }
	}
	if st := s.call(t, "POST", "/v1/licences", token, map[string]any{"licences": batch}, &out); st != 201 {
		t.Fatalf("issue %d: %d", n, st)
	}
	var ls []migrated
	for _, r := range out.Results {
		if r.Licence == nil {
			t.Fatal("a licence of the batch was refused")
		}
		ls = append(ls, *r.Licence)
	}
	return ls
}

// checkpointOf fetches a server's checkpoint.
func checkpointOf(t *testing.T, s *server) tlog.Checkpoint {
	t.Helper()
	var note []byte
	if st := s.call(t, "GET", "/v1/ledger/checkpoint", "", nil, &note); st != 200 {
		t.Fatalf("checkpoint: %d", st)
	}
	n, err := tlog.ParseNote(note)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlog.ParseCheckpoint(n.Text)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// claimCode claims code with a new device key.
func claimCode(t *testing.T, s *server, code string) int {
	t.Helper()
	dev, _ := gm.GenerateKey()
	raw, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	var ch struct{ Challenge string }
	s.call(t, "POST", "/v1/claims/challenge", "", nil, &ch)
	sig, _ := gm.SignRS(dev, service.ClaimSigningInput(ch.Challenge, code, raw))
	return s.call(t, "POST", "/v1/claims", "", map[string]string{"code": code, "device_key": base64.RawURLEncoding.EncodeToString(raw),
		"challenge": ch.Challenge, "signature": base64.RawURLEncoding.EncodeToString(sig)}, nil)
}

// migrateKilled runs elicense migrate slowed down (a pause after every
// transaction) and kills it with SIGKILL when its progress shows a line
// at matches, and returns what it printed on stderr.
func migrateKilled(t *testing.T, data, dsn string, at *regexp.Regexp) string {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "migrate", "--from", data, "--to", dsn, "--batch", "32")
	cmd.Env = append(issuertest.Env(), migratePause+"=150ms")
	errs, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	sc := bufio.NewScanner(errs)
	var seen []string
	for sc.Scan() {
		line := sc.Text()
		seen = append(seen, line)
		if !killed && at.MatchString(line) {
			cmd.Process.Kill()
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("migrate ended (%v) before it reached %q:\n%s", err, at, strings.Join(seen, "\n"))
	}
	return strings.Join(seen, "\n")
}

// TestMigrateToPostgres moves a bbolt deployment to PostgreSQL with
// elicense migrate, killed twice mid-copy (in the ledger, then in the
// state) and resumed, then run again (a no-op), and serves it from
// PostgreSQL: every licence answers as before, an outstanding claim code
// claims, the ledger verifies and its checkpoint extends the old one,
// and new issuances work.
func TestMigrateToPostgres(t *testing.T) {
	dsn, _ := testPG(t)
	d := newBoltDeployment(t)

	// A server holds the file: refused.
	s := startServer(t, d.p.data)
	elicense(t, nil, "migrate", "--from", d.p.data, "--to", dsn).want(t, exitFail)
	s.stop(t)

	r, again := d.migrate(t, dsn)
	d.serve(t, dsn)
	v := elicense(t, nil, "ledger", "verify", "--data", d.p.data, "--store", dsn)
	if v.code != 0 || !strings.HasPrefix(v.stdout, "OK ") {
		t.Fatalf("ledger verify: %s %s", v.stdout, v.stderr)
	}
	// Another deployment's data into the same schema: refused, unchanged.
	other := t.TempDir() + "/other"
	o := startServer(t, other)
	o.stop(t)
	if r := elicense(t, nil, "migrate", "--from", other, "--to", dsn); r.code != exitFail || !strings.Contains(r.stderr, "another log") {
		t.Errorf("migrating another deployment into the schema: %d\n%s", r.code, r.stderr)
	}
	noTime := func(s string) string { return s[:strings.LastIndex(s, ", ")] } // the line without the time fsck took
	if v2 := elicense(t, nil, "ledger", "verify", "--data", d.p.data, "--store", dsn); noTime(v2.stdout) != noTime(v.stdout) {
		t.Errorf("the refused migration changed the ledger: %s, was %s", v2.stdout, v.stdout)
	}
	t.Logf("migrated %d licences (ledger of %d entries)\n%s%s\nsecond run:\n%s", len(d.before), d.old.Size, r.stderr, r.stdout, again.stderr)
}

// boltDeployment is a bbolt deployment made by a real server, stopped,
// and what its licences and checkpoint were.
type boltDeployment struct {
	p      *privacyRun
	bulk   []migrated
	before map[string]migrated
	old    tlog.Checkpoint
}

// newBoltDeployment issues licences of several classes, claims a device
// copy, makes and revokes a seal, changes statuses, re-issues, issues 400
// more (revoking every tenth), records every licence and the checkpoint,
// and stops the server.
func newBoltDeployment(t *testing.T) *boltDeployment {
	data := t.TempDir() + "/data"
	p := &privacyRun{data: data, s: startServer(t, data)}
	p.admin = readToken(t, data)
	p.samples = loadSamples(t)
	p.issueAll(t)
	p.claimDevice(t)
	p.makeSeal(t)
	p.changeStatus(t)
	tok := p.tokens["drivers-license"]
	d := &boltDeployment{p: p, bulk: issueMany(t, p.s, tok, p.samples["drivers-license"], 400), before: map[string]migrated{}}
	for i := 0; i < len(d.bulk); i += 10 {
		if st := p.s.call(t, "POST", "/v1/licences/"+d.bulk[i].ID+"/revoke", tok, map[string]string{"reason": "注销"}, nil); st != 200 {
			t.Fatalf("revoke: %d", st)
		}
	}
	ids := []string{p.copied.ID}
	for _, l := range p.issued {
		ids = append(ids, l.ID)
	}
	for _, l := range d.bulk {
		ids = append(ids, l.ID)
	}
	for _, id := range ids {
		var l migrated
		if st := p.s.call(t, "GET", "/v1/licences/"+url.PathEscape(id), p.admin, nil, &l); st != 200 {
			t.Fatalf("%s: %d", id, st)
		}
		d.before[id] = l
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var ready struct {
			Size uint64 `json:"ledger_size"`
		}
		p.s.call(t, "GET", "/readyz", "", nil, &ready)
		if d.old = checkpointOf(t, p.s); d.old.Size == ready.Size || time.Now().After(deadline) {
			break
		}
	}
	p.s.stop(t)
	return d
}

// migrate runs elicense migrate killed in the ledger, killed in the
// state, to the end, and again; it returns the last two runs.
func (d *boltDeployment) migrate(t *testing.T, dsn string) (r, again result) {
	data := d.p.data
	// Batches end at the old ledger's checkpoints too, so the progress
	// need not pass through 64 itself: any count from 60 to 399 (of the
	// 452 entries).
	migrateKilled(t, data, dsn, regexp.MustCompile(`^ledger: ([6-9]\d|[1-3]\d\d)/`))
	// Resumed: the ledger from where the first run stopped.
	if out := migrateKilled(t, data, dsn, regexp.MustCompile(`^state: `)); !regexp.MustCompile(`ledger: \d+ entries copied \(from [1-9]\d*\)`).MatchString(out) {
		t.Fatalf("the second run did not resume the ledger's copy:\n%s", out)
	}
	r = elicense(t, nil, "migrate", "--from", data, "--to", dsn)
	r.want(t, exitOK)
	for _, want := range []string{fmt.Sprintf("%d entries on both sides, root %s", d.old.Size, d.old.Root), "every checkpoint present", "target ledger verify: OK", "content digest", "equal", "migrated "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("migrate's output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "DIFFERS") || !strings.Contains(r.stderr, "state: ") {
		t.Errorf("migrate:\n%s\n%s", r.stdout, r.stderr)
	}
	again = elicense(t, nil, "migrate", "--from", data, "--to", dsn)
	again.want(t, exitOK)
	if !strings.Contains(again.stderr, "ledger: 0 entries copied") || !strings.Contains(again.stderr, "state: already copied") {
		t.Errorf("the second run was not a no-op:\n%s", again.stderr)
	}
	return r, again
}

// serve starts a server on the migrated schema with the same data
// directory and checks it answers as the bbolt one did.
func (d *boltDeployment) serve(t *testing.T, dsn string) {
	p := d.p
	s := startServer(t, p.data, "--store", dsn)
	defer s.stop(t)
	for id, was := range d.before {
		var l migrated
		if st := s.call(t, "GET", "/v1/licences/"+url.PathEscape(id), p.admin, nil, &l); st != 200 {
			t.Fatalf("%s after the move: %d", id, st)
		}
		if l.Status != was.Status || l.LedgerIndex != was.LedgerIndex {
			t.Errorf("%s: %s at %d after the move, %s at %d before", id, l.Status, l.LedgerIndex, was.Status, was.LedgerIndex)
		}
	}
	if st := claimCode(t, s, d.bulk[1].ClaimCode); st != 201 {
		t.Errorf("an outstanding claim code after the move: %d", st)
	}
	if st := claimCode(t, s, p.issued["drivers-license"].ClaimCode); st == 201 {
		t.Error("a claim code spent before the move claimed again")
	}
	for _, l := range issueMany(t, s, p.tokens["drivers-license"], p.samples["drivers-license"], 50) {
		if _, dup := d.before[l.ID]; dup || l.LedgerIndex < d.old.Size {
			t.Errorf("new licence %s at %d: an identifier or index of the old ledger", l.ID, l.LedgerIndex)
		}
	}
	var cp tlog.Checkpoint
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if cp = checkpointOf(t, s); cp.Size > d.old.Size || time.Now().After(deadline) {
			break
		}
	}
	var proof struct{ Proof []string }
	if st := s.call(t, "GET", fmt.Sprintf("/v1/ledger/proof/consistency?old=%d&new=%d", d.old.Size, cp.Size), "", nil, &proof); st != 200 {
		t.Fatalf("consistency proof: %d", st)
	}
	hs := make([]tlog.Hash, len(proof.Proof))
	for i, h := range proof.Proof {
		b, _ := base64.StdEncoding.DecodeString(h)
		copy(hs[i][:], b)
	}
	if err := tlog.SM3.VerifyConsistency(d.old.Size, cp.Size, hs, d.old.Root, cp.Root); err != nil || cp.Origin != d.old.Origin {
		t.Errorf("the checkpoint after the move (%d, %s) does not extend the old one (%d): %v", cp.Size, cp.Origin, d.old.Size, err)
	}
}

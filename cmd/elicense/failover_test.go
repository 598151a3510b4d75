package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/internal/pgtest"
)

// callBound is the longest any call may take while the database is
// away: the servers answer 503 at once, they do not wait for it.
const callBound = 5 * time.Second

// probeCall is one call a probe made, with its answer.
type probeCall struct {
	server      string
	what        string // "readyz" or "issue"
	start, end  time.Time
	status      int // 0: no answer (the client gave up)
	code, msg   string
	ledgerIndex uint64
}

// probe calls every server's /readyz and issues a licence through each,
// every 50 ms, timing each answer; the licences it is acknowledged join
// l's, so checkReplicaAcks checks them too.
type probe struct {
	l     *replicaLoad
	mu    sync.Mutex
	calls []probeCall
}

func (p *probe) run(servers []string, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 3 * callBound}
	for _, base := range servers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				p.add(p.call(client, base, "readyz", "GET", "/readyz", nil))
				p.add(p.call(client, base, "issue", "POST", "/v1/licences", map[string]any{"class": "business-license", "agency": "11310000PDY100010H", "fields": p.l.fields}))
			}
		})
	}
	return &wg
}

func (p *probe) add(c probeCall) {
	p.mu.Lock()
	p.calls = append(p.calls, c)
	p.mu.Unlock()
}

func (p *probe) call(client *http.Client, base, what, method, path string, body any) probeCall {
	c := probeCall{server: base, what: what, start: time.Now()}
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.l.admin)
	resp, err := client.Do(req)
	c.end = time.Now()
	if err != nil {
		return c
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	c.status = resp.StatusCode
	var ans struct {
		Code        string `json:"code"`
		Message     string `json:"message"`
		ID          string `json:"id"`
		LedgerIndex uint64 `json:"ledger_index"`
		StatusList  string `json:"status_list"`
		StatusIndex uint64 `json:"status_index"`
	}
	json.Unmarshal(raw, &ans)
	c.code, c.msg, c.ledgerIndex = ans.Code, ans.Message, ans.LedgerIndex
	if what == "issue" && c.status == http.StatusCreated {
		p.l.mu.Lock()
		p.l.acked[ans.ID] = &replicaAck{ledgerIndex: ans.LedgerIndex, list: ans.StatusList, pos: ans.StatusIndex}
		p.l.mu.Unlock()
	}
	return c
}

// within returns the calls that started at or after from and ended
// before to.
func (p *probe) within(from, to time.Time) []probeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []probeCall
	for _, c := range p.calls {
		if !c.start.Before(from) && c.end.Before(to) {
			out = append(out, c)
		}
	}
	return out
}

// acks are the end times of the acknowledged issuances, in order.
func (p *probe) acks() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []time.Time
	for _, c := range p.calls {
		if c.what == "issue" && c.status == http.StatusCreated {
			out = append(out, c.end)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// checkDown checks the calls made while the database was away: /readyz
// not 200, every issuance 503 with a JSON reason, none slower than
// callBound. It returns the slowest call.
func checkDown(t *testing.T, calls []probeCall, what string) time.Duration {
	t.Helper()
	var slowest time.Duration
	n := 0
	for _, c := range calls {
		took := c.end.Sub(c.start)
		slowest = max(slowest, took)
		n++
		switch {
		case c.status == 0:
			t.Errorf("%s: %s %s: no answer after %v", what, c.what, c.server, took)
		case took > callBound:
			t.Errorf("%s: %s %s took %v (bound %v)", what, c.what, c.server, took, callBound)
		case c.status == http.StatusOK || c.status == http.StatusCreated:
			t.Errorf("%s: %s %s answered %d while the database was away", what, c.what, c.server, c.status)
		case c.status != http.StatusServiceUnavailable || c.code == "" || c.msg == "":
			t.Errorf("%s: %s %s answered %d %q %q, want 503 with a JSON reason", what, c.what, c.server, c.status, c.code, c.msg)
		case strings.Contains(c.msg, "127.0.0.1") || strings.Contains(c.msg, "user="):
			t.Errorf("%s: %s %s: the reason names the database: %q", what, c.what, c.server, c.msg)
		}
	}
	if n < 2 {
		t.Errorf("%s: only %d calls while the database was away", what, n)
	}
	return slowest
}

// waitRecovered waits until every server is ready and issues, and
// returns how long that took from since.
func waitRecovered(t *testing.T, l *replicaLoad, servers []*server, since time.Time, bound time.Duration) time.Duration {
	t.Helper()
	client := &http.Client{Timeout: callBound}
	p := &probe{l: l}
	for _, s := range servers {
		for {
			r := p.call(client, s.url, "readyz", "GET", "/readyz", nil)
			i := p.call(client, s.url, "issue", "POST", "/v1/licences", map[string]any{"class": "business-license", "agency": "11310000PDY100010H", "fields": l.fields})
			if r.status == http.StatusOK && i.status == http.StatusCreated {
				break
			}
			if time.Since(since) > bound {
				t.Fatalf("%s has not recovered %v after the database came back: readyz %d %s, issue %d %s\n%s", s.url, bound, r.status, r.msg, i.status, i.msg, s.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return time.Since(since)
}

// checkServersClean checks the load's answers (no 5xx but 503) and that
// no server panicked or died.
func checkServersClean(t *testing.T, l *replicaLoad, servers []*server) {
	t.Helper()
	l.mu.Lock()
	for st, n := range l.answers {
		if st >= 500 && st != http.StatusServiceUnavailable {
			t.Errorf("the load got %d answers %d", n, st)
		}
	}
	l.mu.Unlock()
	for _, s := range servers {
		if out := s.stderr.String(); strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
			t.Errorf("%s panicked:\n%s", s.url, out)
		}
		if s.cmd.ProcessState != nil {
			t.Errorf("%s exited: %v", s.url, s.cmd.ProcessState)
		}
	}
}

// verifyStoreLedger stops the servers and verifies the ledger in the
// database at dsn.
func verifyStoreLedger(t *testing.T, data, dsn string, servers ...*server) string {
	t.Helper()
	for _, s := range servers {
		s.stop(t)
	}
	v := elicense(t, nil, "ledger", "verify", "--data", data, "--store", dsn)
	if v.code != 0 || !strings.HasPrefix(v.stdout, "OK ") {
		t.Fatalf("ledger verify: %s %s", v.stdout, v.stderr)
	}
	return strings.TrimSpace(v.stdout)
}

// TestDatabaseRestart runs two servers on a PostgreSQL server of the
// test's own under load (16 clients and a probe), and takes the database
// away twice, for 3 s each: an immediate shutdown, then a SIGKILL of the
// postmaster. While it is away /readyz is not 200 and every call answers
// 503 with a JSON reason within callBound; once it is back both servers
// become ready and issue again by themselves; every acknowledged answer
// holds and the ledger verifies.
func TestDatabaseRestart(t *testing.T) {
	db := pgtest.New(t, pgtest.Options{})
	dsn := db.DSN("postgres") + "&schema=restart"
	data := filepath.Join(t.TempDir(), "data")
	a := startServer(t, data, "--store", dsn)
	b := startServer(t, data, "--store", dsn)
	servers := []*server{a, b}
	l := &replicaLoad{admin: readToken(t, data), fields: loadSamples(t)["business-license"], acked: map[string]*replicaAck{}, answers: map[int]int{}}
	stop := make(chan struct{})
	wg := l.run(func() []string { return []string{a.url, b.url} }, stop)
	p := &probe{l: l}
	pwg := p.run([]string{a.url, b.url}, stop)

	var report []string
	for _, o := range []struct {
		name string
		down func() error
	}{
		{"immediate shutdown", func() error { return db.Stop("immediate") }},
		{"SIGKILL of the postmaster", db.Kill},
	} {
		time.Sleep(time.Second)
		if err := o.down(); err != nil {
			t.Fatalf("%s: %v", o.name, err)
		}
		downAt := time.Now()
		time.Sleep(3 * time.Second)
		upAt := time.Now()
		slowest := checkDown(t, p.within(downAt.Add(200*time.Millisecond), upAt), o.name)
		if err := db.Start(); err != nil {
			t.Fatal(err)
		}
		back := waitRecovered(t, l, servers, time.Now(), 15*time.Second)
		report = append(report, fmt.Sprintf("%s: every call while down answered in at most %v; both servers ready and issuing %v after the database was back",
			o.name, slowest.Round(time.Millisecond), back.Round(time.Millisecond)))
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	pwg.Wait()
	checkServersClean(t, l, servers)
	checkReplicaAcks(t, l, servers)
	v := verifyStoreLedger(t, data, dsn, a, b)
	t.Logf("%s; %d acknowledged issuances checked on both servers (load answers %v); %s", strings.Join(report, "; "), len(l.acked), l.answers, v)
}

// TestDatabaseFailover runs a primary with a synchronous standby and two
// servers reaching them by a multi-host DSN (target_session_attrs=
// read-write), under load; it SIGKILLs the primary's postmaster,
// promotes the standby 2 s later, and checks that both servers
// carry on on the new primary by themselves, that every acknowledged
// answer is there, and that the ledger verifies there. It logs the
// outage (the last acknowledgement before the kill to the first after)
// and the time from promotion to the first acknowledged issuance.
func TestDatabaseFailover(t *testing.T) {
	primary := pgtest.New(t, pgtest.Options{})
	standby := primary.SynchronousStandby(t, pgtest.Options{})
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write&schema=failover", primary.Port, standby.Port)
	data := filepath.Join(t.TempDir(), "data")
	a := startServer(t, data, "--store", dsn)
	b := startServer(t, data, "--store", dsn)
	servers := []*server{a, b}
	l := &replicaLoad{admin: readToken(t, data), fields: loadSamples(t)["business-license"], acked: map[string]*replicaAck{}, answers: map[int]int{}}
	stop := make(chan struct{})
	wg := l.run(func() []string { return []string{a.url, b.url} }, stop)
	p := &probe{l: l}
	pwg := p.run([]string{a.url, b.url}, stop)

	time.Sleep(2 * time.Second)
	if err := primary.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	time.Sleep(2 * time.Second) // a fail-over manager's detection, shortened
	slowest := checkDown(t, p.within(killedAt.Add(200*time.Millisecond), time.Now()), "primary killed")
	if err := standby.Promote(); err != nil {
		t.Fatal(err)
	}
	promotedAt := time.Now()
	back := waitRecovered(t, l, servers, promotedAt, 15*time.Second)
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	pwg.Wait()

	if t.Failed() {
		p.dump(t, killedAt.Add(-500*time.Millisecond), promotedAt.Add(time.Second))
	}
	acks := p.acks()
	i, _ := slices.BinarySearchFunc(acks, killedAt, func(a, b time.Time) int { return a.Compare(b) })
	var before, after time.Time
	if i > 0 {
		before = acks[i-1]
	}
	for _, at := range acks[i:] {
		if at.After(promotedAt) {
			after = at
			break
		}
	}
	if before.IsZero() || after.IsZero() {
		t.Fatalf("no acknowledgement before the kill (%v) or after the promotion (%v)", before, after)
	}
	checkServersClean(t, l, servers)
	checkReplicaAcks(t, l, servers)
	v := verifyStoreLedger(t, data, standby.DSN("postgres")+"&schema=failover", a, b)
	t.Logf("outage (last acknowledgement before the SIGKILL to the first after) %v, of which 2 s before the promotion; promotion to the first acknowledged issuance %v (both servers issuing %v after it); calls while the primary was gone answered in at most %v; %d acknowledged issuances checked on both servers against the new primary (load answers %v); %s",
		after.Sub(before).Round(time.Millisecond), after.Sub(promotedAt).Round(time.Millisecond), back.Round(time.Millisecond),
		slowest.Round(time.Millisecond), len(l.acked), l.answers, v)
}

// dump logs the calls that started between from and to.
func (p *probe) dump(t *testing.T, from, to time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.calls {
		if c.start.After(from) && c.start.Before(to) {
			t.Logf("%s %s +%v took %v: %d %s %.80s", c.server, c.what, c.start.Sub(from).Round(time.Millisecond), c.end.Sub(c.start).Round(time.Millisecond), c.status, c.code, c.msg)
		}
	}
}

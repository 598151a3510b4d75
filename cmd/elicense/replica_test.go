package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"elicense/internal/testneed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"elicense/issuer/service"
	"elicense/issuer/state/pgstate"
	"elicense/verifier"
	"elicense/verifier/store"
)

// testPG is the PostgreSQL server the replica tests use (ELICENSE_TEST_PG,
// as the backend's own tests): a DSN of a schema of the test's own, which
// is dropped when it ends. ELICENSE_SKIP=postgres skips them, loudly; no
// server otherwise fails them.
func testPG(t testing.TB) (dsn, schema string) {
	t.Helper()
	if os.Getenv("ELICENSE_TEST_PG") == "skip" {
		testneed.Missing(t, testneed.Postgres, "ELICENSE_TEST_PG=skip: the PostgreSQL replica tests do not run")
	}
	base := pgDefault()
	var b [6]byte
	rand.Read(b[:])
	schema = "replica_" + hex.EncodeToString(b[:])
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("ELICENSE_TEST_PG: %v", err)
	}
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	t.Cleanup(func() {
		if err := pgstate.DropSchema(context.Background(), base, schema); err != nil {
			t.Logf("dropping schema %s: %v", schema, err)
		}
	})
	return u.String(), schema
}

// replicaLoad is clients issuing and revoking through several servers,
// remembering every acknowledged answer.
type replicaLoad struct {
	admin   string
	fields  map[string]string
	mu      sync.Mutex
	acked   map[string]*replicaAck
	answers map[int]int
}

type replicaAck struct {
	ledgerIndex uint64
	list        string
	pos         uint64
	revoked     bool
}

func (l *replicaLoad) post(base, path string, body, out any) int {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+l.admin)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0 // the server died under the request: not acknowledged
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, out)
	l.mu.Lock()
	l.answers[resp.StatusCode]++
	l.mu.Unlock()
	return resp.StatusCode
}

// run issues (and revokes every third) from 16 clients spread over the
// servers bases returns, until stop closes.
func (l *replicaLoad) run(bases func() []string, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				bs := bases()
				base := bs[(w+i)%len(bs)]
				var rec struct {
					ID          string `json:"id"`
					LedgerIndex uint64 `json:"ledger_index"`
					StatusList  string `json:"status_list"`
					StatusIndex uint64 `json:"status_index"`
				}
				if l.post(base, "/v1/licences", map[string]any{"class": "business-license", "agency": "11310000PDY100010H", "fields": l.fields}, &rec) != 201 {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				l.mu.Lock()
				l.acked[rec.ID] = &replicaAck{ledgerIndex: rec.LedgerIndex, list: rec.StatusList, pos: rec.StatusIndex}
				l.mu.Unlock()
				if (w+i)%3 == 0 && l.post(bs[(w+i+1)%len(bs)], "/v1/licences/"+rec.ID+"/revoke", map[string]string{"reason": "注销"}, &struct{}{}) == 200 {
					l.mu.Lock()
					l.acked[rec.ID].revoked = true
					l.mu.Unlock()
				}
			}
		})
	}
	return &wg
}

// checkpointSize is the size of the checkpoint a server serves.
func checkpointSize(base string) uint64 {
	resp, err := http.Get(base + "/v1/ledger/checkpoint")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	lines := strings.Split(string(b), "\n")
	var n uint64
	if len(lines) > 1 {
		fmt.Sscan(lines[1], &n)
	}
	return n
}

// TestReplicasKill runs two servers on one PostgreSQL schema, issuing
// and revoking through both from 16 clients; it kills the one that signs
// checkpoints with SIGKILL under load, checks that the other signs the
// next checkpoint within seconds and carries on, restarts the killed one,
// and checks every acknowledged answer on both: each licence at the
// ledger index it was given, with a status position no other holds, each
// revocation kept; and the ledger verifies.
func TestReplicasKill(t *testing.T) {
	dsn, _ := testPG(t)
	data := filepath.Join(t.TempDir(), "data")
	a := startServer(t, data, "--store", dsn)
	b := startServer(t, data, "--store", dsn)
	l := &replicaLoad{admin: readToken(t, data), fields: loadSamples(t)["business-license"], acked: map[string]*replicaAck{}, answers: map[int]int{}}
	if !a.waitOutput("this process now signs the checkpoints", 5*time.Second) {
		t.Fatalf("the first server does not sign checkpoints:\n%s", a.stderr)
	}
	var bmu sync.Mutex
	bases := []string{a.url, b.url}
	stop := make(chan struct{})
	wg := l.run(func() []string { bmu.Lock(); defer bmu.Unlock(); return bases }, stop)

	time.Sleep(1500 * time.Millisecond)
	before := checkpointSize(b.url)
	a.cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	a.cmd.Wait()
	bmu.Lock()
	bases = []string{b.url}
	bmu.Unlock()
	// The survivor takes the lead and signs what was appended since.
	var took time.Duration
	for {
		if n := checkpointSize(b.url); n > before {
			took = time.Since(killed)
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("no checkpoint past size %d within 10 s of killing the signer:\n%s", before, b.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	a = startServer(t, data, "--store", dsn)
	bmu.Lock()
	bases = []string{a.url, b.url}
	bmu.Unlock()
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	checkReplicaAcks(t, l, []*server{a, b})

	b.stop(t)
	a.stop(t)
	v := elicense(t, nil, "ledger", "verify", "--data", data, "--store", dsn)
	if v.code != 0 || !strings.HasPrefix(v.stdout, "OK ") {
		t.Fatalf("ledger verify: %s %s", v.stdout, v.stderr)
	}
	t.Logf("%d acknowledged issuances checked on both replicas (answers %v); the next checkpoint came %v after the signer's SIGKILL; %s",
		len(l.acked), l.answers, took.Round(time.Millisecond), strings.TrimSpace(v.stdout))
}

// checkReplicaAcks checks every acknowledged answer of l on each server.
func checkReplicaAcks(t *testing.T, l *replicaLoad, servers []*server) {
	t.Helper()
	if len(l.acked) < 100 {
		t.Fatalf("only %d issuances acknowledged", len(l.acked))
	}
	positions := map[string]string{}
	revoked := 0
	for id, a := range l.acked {
		pos := fmt.Sprintf("%s/%d", a.list, a.pos)
		if other, dup := positions[pos]; dup {
			t.Errorf("%s and %s share status position %s", id, other, pos)
		}
		positions[pos] = id
		if a.revoked {
			revoked++
		}
		for _, s := range servers {
			var rec struct {
				Status      string `json:"status"`
				LedgerIndex uint64 `json:"ledger_index"`
			}
			if st := s.call(t, "GET", "/v1/licences/"+id, l.admin, nil, &rec); st != 200 {
				t.Fatalf("acknowledged licence %s: %d from %s", id, st, s.url)
			}
			if rec.LedgerIndex != a.ledgerIndex {
				t.Errorf("%s: ledger index %d, acknowledged at %d", id, rec.LedgerIndex, a.ledgerIndex)
			}
			if a.revoked && rec.Status != "revoked" {
				t.Errorf("%s: acknowledged revocation lost, status %s", id, rec.Status)
			}
		}
	}
	if revoked == 0 {
		t.Error("no revocation was acknowledged")
	}
}

// TestReplicasKeyRotation: an agency key rotated through one replica is
// not used by the other after the rotation's ledger event: the database
// refuses the licence it signed with the old key, it reloads the keys
// from the data directory they share, and issues with the new key.
func TestReplicasKeyRotation(t *testing.T) {
	dsn, _ := testPG(t)
	data := filepath.Join(t.TempDir(), "data")
	a := startServer(t, data, "--store", dsn)
	b := startServer(t, data, "--store", dsn)
	admin := readToken(t, data)
	const agency = "11310000PDY100010H"
	body := map[string]any{"class": "business-license", "agency": agency, "fields": loadSamples(t)["business-license"]}
	kidOf := func(s *server) string {
		t.Helper()
		var rec struct {
			Credential string `json:"credential"`
		}
		if st := s.call(t, "POST", "/v1/licences", admin, body, &rec); st != 201 {
			t.Fatalf("issue through %s: %d\n%s", s.url, st, s.stderr)
		}
		return kidOfCredential(t, rec.Credential)
	}
	old := kidOf(b)
	var ch struct {
		New struct {
			KID string `json:"kid"`
		} `json:"new_key"`
	}
	if st := a.call(t, "POST", "/v1/agencies/"+agency+"/keys/rotate", admin, map[string]any{}, &ch); st != 200 {
		t.Fatalf("rotate through a: %d\n%s", st, a.stderr)
	}
	if ch.New.KID == "" || ch.New.KID == old {
		t.Fatalf("rotation: new key %q, old %q", ch.New.KID, old)
	}
	if got := kidOf(b); got != ch.New.KID {
		t.Fatalf("b signs with key %s after the rotation to %s (was %s)", got, ch.New.KID, old)
	}
	if !b.waitOutput("agency keys reloaded after another replica's rotation", 5*time.Second) {
		t.Fatalf("b did not say it reloaded the keys:\n%s", b.stderr)
	}
}

// TestReplicasOwnDirectories: replicas with copies of one data
// directory. After a rotation through one, the other signs nothing with
// the retired key (it answers 503 with the reason) until the new
// directory is copied to it, then issues with the new key by itself.
func TestReplicasOwnDirectories(t *testing.T) {
	dsn, _ := testPG(t)
	dataA := filepath.Join(t.TempDir(), "a")
	a := startServer(t, dataA, "--store", dsn)
	dataB := filepath.Join(t.TempDir(), "b")
	if out, err := exec.Command("cp", "-a", dataA, dataB).CombinedOutput(); err != nil {
		t.Fatalf("copying the data directory: %v %s", err, out)
	}
	b := startServer(t, dataB, "--store", dsn)
	admin := readToken(t, dataA)
	const agency = "11310000PDY100010H"
	body := map[string]any{"class": "business-license", "agency": agency, "fields": loadSamples(t)["business-license"]}
	if st := b.call(t, "POST", "/v1/licences", admin, body, nil); st != 201 {
		t.Fatalf("issue through b before the rotation: %d", st)
	}
	var ch struct {
		New struct {
			KID string `json:"kid"`
		} `json:"new_key"`
	}
	if st := a.call(t, "POST", "/v1/agencies/"+agency+"/keys/rotate", admin, map[string]any{}, &ch); st != 200 {
		t.Fatalf("rotate through a: %d\n%s", st, a.stderr)
	}
	time.Sleep(3 * service.FollowEvery)
	var refusal struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if st := b.call(t, "POST", "/v1/licences", admin, body, &refusal); st != 503 || !strings.Contains(refusal.Message, "retired") {
		t.Fatalf("b issued with a retired key, or said nothing of it: %d %+v", st, refusal)
	}
	if out, err := exec.Command("cp", "-a", filepath.Join(dataA, "pki")+"/.", filepath.Join(dataB, "pki")).CombinedOutput(); err != nil {
		t.Fatalf("copying the new PKI: %v %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var rec struct {
			Credential string `json:"credential"`
		}
		if st := b.call(t, "POST", "/v1/licences", admin, body, &rec); st == 201 {
			if !strings.Contains(kidOfCredential(t, rec.Credential), ch.New.KID) {
				t.Fatalf("b issued with key %s, want %s", kidOfCredential(t, rec.Credential), ch.New.KID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b does not issue 10 s after it got the new PKI:\n%s", b.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kidOfCredential is the key ID in a credential's JWS header.
func kidOfCredential(t *testing.T, jws string) string {
	t.Helper()
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(jws, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(hdr, &h)
	return h.Kid
}

// TestReplicasRotationUnderLoad: replicas issue through another's key
// rotation. Every licence acknowledged, before, during and after it,
// verifies at a counter that synced after it (none carries a signing
// time after its key's retirement: the rotation fences the old key in
// the database before it takes that time), and no issuance is refused
// (a replica whose licence the fence refused waits for the new key).
func TestReplicasRotationUnderLoad(t *testing.T) {
	dsn, _ := testPG(t)
	data := filepath.Join(t.TempDir(), "data")
	a := startServer(t, data, "--store", dsn)
	b := startServer(t, data, "--store", dsn)
	admin := readToken(t, data)
	const agency = "11310000PDY100010H"
	body := map[string]any{"class": "business-license", "agency": agency, "fields": loadSamples(t)["business-license"]}
	var (
		mu      sync.Mutex
		qrs     []string
		refused []string
		kids    = map[string]int{}
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*server{a, b}[w%2]
			for {
				select {
				case <-stop:
					return
				default:
				}
				var rec struct {
					QR         string `json:"qr"`
					Credential string `json:"credential"`
					Message    string `json:"message"`
				}
				st := s.call(t, "POST", "/v1/licences", admin, body, &rec)
				mu.Lock()
				if st == 201 {
					qrs = append(qrs, rec.QR)
					kids[kidOfCredential(t, rec.Credential)]++
				} else {
					refused = append(refused, fmt.Sprintf("%d %s", st, rec.Message))
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	if st := a.call(t, "POST", "/v1/agencies/"+agency+"/keys/rotate", admin, map[string]any{}, nil); st != 200 {
		t.Fatalf("rotate through a: %d\n%s", st, a.stderr)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	if len(refused) > 0 {
		t.Errorf("%d issuances refused during the rotation, e.g. %s", len(refused), refused[0])
	}
	if len(kids) != 2 {
		t.Fatalf("licences signed by keys %v, want the old and the new", kids)
	}
	counter, err := store.Open(filepath.Join(t.TempDir(), "counter"))
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := os.ReadFile(filepath.Join(data, "pki", "root.crt.pem"))
	if _, err := counter.AddRoot(rootPEM); err != nil {
		t.Fatal(err)
	}
	if _, err := counter.Sync(context.Background(), a.url, store.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	cache, err := counter.Load(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	v := verifier.New(cache.State(), verifier.Options{})
	bad := map[string]int{}
	for _, text := range qrs {
		if got := v.Verify(text, time.Now()); got.Code != "VALID_STATIC" {
			bad[string(got.Code)]++
		}
	}
	if len(bad) > 0 {
		t.Errorf("of %d acknowledged licences, counters refuse %v", len(qrs), bad)
	}
	t.Logf("%d licences acknowledged across the rotation (by key: %v), none refused", len(qrs), kids)
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/issuer/loadtest"
)

// BenchmarkReplicasPG measures durable issuances through real `elicense
// serve` processes on one PostgreSQL schema: one replica, then two, with
// 64 clients in all (split evenly), one licence per request. Besides the
// rate and latency it reports the CPU the replicas and PostgreSQL spent
// per issuance and the database commits per issuance (a commit is two
// round trips: the head's lock, then the pipelined rows). Run on a quiet
// machine, the replicas, PostgreSQL and the clients sharing its cores:
//
//	go test ./cmd/elicense -run '^$' -bench ReplicasPG -benchtime 20000x -count 3
func BenchmarkReplicasPG(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) { benchReplicas(b, n) })
	}
}

func benchReplicas(b *testing.B, replicas int) {
	dsn, _ := testPG(b)
	data := filepath.Join(b.TempDir(), "data")
	servers := make([]*server, replicas)
	for i := range servers {
		servers[i] = startServer(b, data, "--store", dsn, "--log-level", "warn")
	}
	tok, _ := os.ReadFile(filepath.Join(data, "admin.token"))
	body, _ := json.Marshal(map[string]any{"class": "business-license", "agency": "11310000PDY100010H", "fields": loadSamples(b)["business-license"]})
	run := func(n int) loadtest.Result {
		var mu sync.Mutex
		var all loadtest.Result
		all.Status = map[int]int{}
		var wg sync.WaitGroup
		for i, s := range servers {
			per := n / replicas
			if i == 0 {
				per += n % replicas
			}
			wg.Go(func() {
				r, err := loadtest.Issue(context.Background(), loadtest.Options{URL: s.url + "/v1/licences", Token: strings.TrimSpace(string(tok)), Body: body, Clients: 64 / replicas, Requests: per})
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				all.Latencies = append(all.Latencies, r.Latencies...)
				all.Licences += r.Licences
				all.Elapsed = max(all.Elapsed, r.Elapsed)
				for k, v := range r.Status {
					all.Status[k] += v
				}
				if all.FirstErr == "" {
					all.FirstErr = r.FirstErr
				}
			})
		}
		wg.Wait()
		return all
	}
	run(2000) // warm up: connections, the first status list, the caches
	// The server's own count, read with psql: only storage backends
	// import a database driver (internal/importrules).
	commits := func() int64 {
		out, err := exec.Command("psql", pgDefault(), "-tAc", "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Output()
		if err != nil {
			b.Fatalf("psql: %v", err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			b.Fatalf("psql: %q", out)
		}
		return n
	}
	cpuReplicas := func() time.Duration {
		var d time.Duration
		for _, s := range servers {
			d += procCPU(s.cmd.Process.Pid)
		}
		return d
	}
	c0, r0, p0 := commits(), cpuReplicas(), postgresCPU()
	b.ResetTimer()
	res := run(b.N)
	b.StopTimer()
	c1, r1, p1 := commits(), cpuReplicas(), postgresCPU()
	if res.Licences != b.N {
		b.Fatalf("%d of %d issuances acknowledged: answers %v, first failure %s", res.Licences, b.N, res.Status, res.FirstErr)
	}
	lat := res.Latencies
	slices.Sort(lat)
	n := float64(res.Licences)
	b.ReportMetric(n/res.Elapsed.Seconds(), "issuances/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64((r1-r0).Microseconds())/n, "replica-cpu-µs/op")
	b.ReportMetric(float64((p1-p0).Microseconds())/n, "pg-cpu-µs/op")
	b.ReportMetric(float64(c1-c0-2)/n, "commits/op") // less psql's own two
	for _, s := range servers {
		s.stop(b)
	}
}

// pgDefault is the test server's DSN when ELICENSE_TEST_PG does not say.
func pgDefault() string {
	if v := os.Getenv("ELICENSE_TEST_PG"); v != "" && v != "skip" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// procCPU is the CPU time (user and system) process pid has used, from
// /proc (clock ticks of 10 ms).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// postgresCPU is the CPU time every postgres process on the machine has
// used (the server's backends, WAL writer, checkpointer …).
func postgresCPU() time.Duration {
	ents, _ := os.ReadDir("/proc")
	var d time.Duration
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm")); strings.TrimSpace(string(comm)) == "postgres" {
			d += procCPU(pid)
		}
	}
	return d
}

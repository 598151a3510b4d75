package pgstate_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"elicense/certs/qr"
	"elicense/issuer/state"
	"elicense/issuer/state/pgstate"
)

// roundTrips counts what a connection sends and waits for: a statement
// or a pipelined batch is one round trip.
type roundTrips struct {
	n       atomic.Int64
	batchNS atomic.Int64 // time in the largest batches (the flush)
}

func (c *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	if ctx.Value(inBatch{}) == nil {
		c.n.Add(1)
	}
	return ctx
}
func (c *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	ctx = context.WithValue(ctx, inBatch{}, true)
	if d.Batch.Len() > 2 {
		ctx = context.WithValue(ctx, batchStart{}, time.Now())
	}
	return ctx
}
func (c *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *roundTrips) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) {
	if t, ok := ctx.Value(batchStart{}).(time.Time); ok {
		c.batchNS.Add(int64(time.Since(t)))
	}
}

type (
	inBatch    struct{}
	batchStart struct{}
)

// serverCPU is the CPU time (user and system) of the server process pid
// so far, read from /proc (the server runs on this machine in tests).
func serverCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command's closing parenthesis: utime and stime
	// are the 12th and 13th (in clock ticks, 100 a second on Linux).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * 10 * time.Millisecond, true
}

// realistic is a licence of the size the service issues: ten fields, a
// JWS credential of about 1.8 KB, a QR core with three optional fields.
func realistic(i int) *state.Record {
	now := time.Now()
	fields := map[string]string{}
	for j := range 10 {
		fields[fmt.Sprintf("field_%d", j)] = strings.Repeat("上海市浦东新区", 2)
	}
	h := &qr.Holding{Core: make([]byte, 180), KeyID: make([]byte, 8), IssuerSig: make([]byte, 64), Credential: strings.Repeat("ab", 32)}
	for j := range 3 {
		h.Optional = append(h.Optional, qr.OptionalField{Key: fmt.Sprintf("field_%d", j), Field: uint16(j + 1), Value: "值", Salt: make([]byte, 16)})
	}
	id := fmt.Sprintf("1.2.156.3005.2.11100000000013338W011.310000000000000000.%09d.001.K", i)
	return &state.Record{ID: id, Class: "business-license", Agency: "310000", HolderCode: fmt.Sprintf("91310000%010d", i),
		HolderName: "上海某某科技有限公司", Fields: fields, Status: state.StatusValid, StatusList: "310000-1", StatusIndex: uint64(i),
		Credential: strings.Repeat("x", 1800), CredentialHash: strings.Repeat("ab", 32), Holding: h,
		IssuedAt: now, UpdatedAt: now, IssuedOn: "2026-03-01", Number: fmt.Sprint(i)}
}

// BenchmarkWrite: one WriteLocked per op with n issuances (entry,
// hashes, licence, credential, claim ticket, audit record), fsync on.
func BenchmarkWrite(b *testing.B) {
	dsn := testDSN(b)
	for _, n := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			schema := fmt.Sprintf("t_pg_bench_%d", n)
			var rt roundTrips
			// One connection, so one server process does all the work and
			// its CPU time can be read.
			s, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: schema, Tracer: &rt, MaxConns: 1})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close(); pgstate.DropSchema(ctx, dsn, schema) })
			next := 0
			batch := func() ([]*state.Prepared, [][]byte) {
				ps := make([]*state.Prepared, n)
				es := make([][]byte, n)
				for i := range ps {
					r := realistic(next)
					next++
					p, err := s.Prepare(r, &state.Claim{LicenceID: r.ID, Expires: time.Now().Add(time.Hour), Salt: make([]byte, 16), Verifier: make([]byte, 32)})
					if err != nil {
						b.Fatal(err)
					}
					ps[i], es[i] = p, make([]byte, 300)
					copy(es[i], r.ID)
				}
				return ps, es
			}
			audit := map[string]string{"operator": "op-1", "holder_code": "91310000MA1FL0000X", "holder_name": "上海某某科技有限公司"}
			write := func(ps []*state.Prepared, es [][]byte) {
				var at uint64
				err := shared(s).WriteLocked(ctx, build(es, &at), func(tx state.Tx) error {
					for i, p := range ps {
						if err := tx.Insert(p, at+uint64(i)); err != nil {
							return err
						}
						if err := tx.PutAudit(at+uint64(i), audit); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			write(batch()) // prepares the statements
			var pid int
			var lsn0 string
			if err := s.Pool().QueryRow(ctx, `SELECT pg_backend_pid(), pg_current_wal_lsn()::text`).Scan(&pid, &lsn0); err != nil {
				b.Fatal(err)
			}
			cpu0, ok := serverCPU(pid)
			rt.n.Store(0)
			rt.batchNS.Store(0)
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				ps, es := batch()
				b.StartTimer()
				write(ps, es)
			}
			b.StopTimer()
			var wal int64
			if err := s.Pool().QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint`, lsn0).Scan(&wal); err != nil {
				b.Fatal(err)
			}
			if cpu1, ok1 := serverCPU(pid); ok && ok1 {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N*n), "pg-cpu-ns/licence")
			}
			b.ReportMetric(float64(wal)/float64(b.N*n), "wal-B/licence")
			b.ReportMetric(float64(rt.n.Load())/float64(b.N), "roundtrips/op")
			b.ReportMetric(float64(rt.batchNS.Load())/float64(b.N), "flush-ns/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/licence")
		})
	}
}

// BenchmarkWriteTwoStores: two stores (two processes' pools) append
// batches of 64 issuances at once: the head's lock makes them take
// turns, so together they write about what one does.
func BenchmarkWriteTwoStores(b *testing.B) {
	dsn := testDSN(b)
	const n = 64
	schema := "t_pg_bench_two"
	var stores [2]*pgstate.Store
	for i := range stores {
		s, err := pgstate.Open(ctx, dsn, pgstate.Options{Schema: schema})
		if err != nil {
			b.Fatal(err)
		}
		stores[i] = s
	}
	b.Cleanup(func() { stores[0].Close(); stores[1].Close(); pgstate.DropSchema(ctx, dsn, schema) })
	var next atomic.Int64
	audit := map[string]string{"operator": "op-1"}
	one := func(s *pgstate.Store) {
		ps := make([]*state.Prepared, n)
		es := make([][]byte, n)
		for i := range ps {
			r := realistic(int(next.Add(1)))
			p, err := s.Prepare(r, &state.Claim{LicenceID: r.ID, Expires: time.Now().Add(time.Hour), Verifier: make([]byte, 32)})
			if err != nil {
				b.Error(err)
				return
			}
			ps[i], es[i] = p, []byte(r.ID)
		}
		var at uint64
		err := shared(s).WriteLocked(ctx, build(es, &at), func(tx state.Tx) error {
			for i, p := range ps {
				if err := tx.Insert(p, at+uint64(i)); err != nil {
					return err
				}
				if err := tx.PutAudit(at+uint64(i), audit); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Error(err)
		}
	}
	one(stores[0])
	one(stores[1])
	b.ResetTimer()
	var wg sync.WaitGroup
	var ops atomic.Int64
	for _, s := range stores {
		wg.Go(func() {
			for ops.Add(1) <= int64(b.N) {
				one(s)
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "licences/s")
}

// BenchmarkState measures the ledger's durable read (what other
// processes' Logs take in every half checkpoint interval, and on a
// proof request beyond the size they know).
func BenchmarkState(b *testing.B) {
	s := openTest(b, testDSN(b), "t_pg_bench_state")
	defer s.Close()
	for b.Loop() {
		if _, err := s.Ledger().State(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

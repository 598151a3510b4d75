package pgstate

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"elicense/issuer/state"
)

// Options tune Open. The zero value is what production uses.
type Options struct {
	// Schema is the PostgreSQL schema holding the tables; "" means
	// "elicense". Several deployments (or tests) share one database
	// with a schema each.
	Schema string
	// MaxConns caps the pool's connections (the leader's connection is
	// one more). Zero means 8.
	MaxConns int32
	// StatementTimeout bounds every statement (the server's
	// statement_timeout, set for each connection); zero means 30 s. A
	// statement that runs longer fails with state.ErrUnavailable.
	StatementTimeout time.Duration
	// ConnectTimeout bounds each attempt to connect to one host of the
	// DSN (a host that does not answer, not one that refuses, which
	// fails at once); zero means 5 s. A DSN's connect_timeout wins.
	ConnectTimeout time.Duration
	// OpTimeout bounds, on this side, each of the store's operations
	// that the ledger's sequencer waits for (a ledger transaction,
	// reading the head, taking or checking the lead, Ping) and every
	// other write (a commit may wait for a synchronous standby, which
	// statement_timeout does not end), so that a
	// server that stops answering without closing the connection (a
	// dead peer, a partition), which statement_timeout cannot end,
	// fails the call with state.ErrUnavailable instead of holding every
	// writer. Zero means StatementTimeout + ConnectTimeout.
	OpTimeout time.Duration
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// Tracer, if set, sees every statement and batch of the pool's
	// connections (measuring round trips; pgx's tracelog for logs).
	Tracer pgx.QueryTracer
}

// DefaultSchema is the schema Open uses when Options.Schema is empty.
const DefaultSchema = "elicense"

// schemaVersion is the layout this build writes (schema.go); a database
// at a later version is refused.
const schemaVersion = 5

// VersionError is the refusal to open a schema written by a later
// version of elicense. It wraps state.ErrFormat.
type VersionError struct {
	Schema     string
	Have, Want int // the database's version and this build's
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("pgstate: schema %q is at version %d, newer than version %d, the latest this build knows: upgrade elicense", e.Schema, e.Have, e.Want)
}

func (e *VersionError) Unwrap() error { return state.ErrFormat }

// ErrNotDurable means the server acknowledges commits before they are
// durable (fsync or synchronous_commit off), which would let an
// acknowledged issuance be lost.
var ErrNotDurable = errors.New("pgstate: the server does not make commits durable before acknowledging them")

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Store is the issuer's state and ledger in a PostgreSQL schema: a
// state.Backend and a state.Shared, which several processes may open at
// once. Its methods are safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	cfg    *pgx.ConnConfig // for the leader's own connection
	schema string
	opTime time.Duration // Options.OpTimeout
	log    *slog.Logger
	q      queries

	tokens revokedTokens // TokenRevoked's memory

	leadMu   sync.Mutex
	leadConn *pgx.Conn // the lead's connection, kept between tries
	leading  bool      // leadConn holds the lead
	leadKey  int64
}

// Open connects to the database at dsn (a PostgreSQL URL or key=value
// string), creates or migrates the schema and checks that the server
// makes commits durable. Connection failures wrap state.ErrUnavailable;
// messages show the DSN without its password.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if !schemaName.MatchString(o.Schema) {
		return nil, fmt.Errorf("pgstate: schema name %q: want lower-case letters, digits and _ (at most 63)", o.Schema)
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 30 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstate: the DSN %s does not parse: %v", Redact(dsn), errors.Unwrap(err))
	}
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = o.ConnectTimeout
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = o.StatementTimeout + pc.ConnConfig.ConnectTimeout
	}
	pc.MaxConns = o.MaxConns
	if o.Tracer != nil {
		pc.ConnConfig.Tracer = o.Tracer
	}
	pc.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(o.StatementTimeout.Milliseconds())
	pc.ConnConfig.OnNotice = onNotice
	// The schema in the name tells an operator (and pg_stat_activity)
	// which deployment a connection serves.
	pc.ConnConfig.RuntimeParams["application_name"] = "elicense/" + o.Schema
	s := &Store{
		pool:    nil,
		cfg:     pc.ConnConfig.Copy(),
		schema:  o.Schema,
		opTime:  o.OpTimeout,
		log:     o.Logger,
		q:       newQueries(o.Schema),
		leadKey: lockKey("lead", o.Schema),
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstate: %s: %w", Redact(dsn), unavailable(err))
	}
	if err := s.start(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("pgstate: %s: %w", Redact(dsn), err)
	}
	return s, nil
}

// start checks durability and creates or migrates the schema, in one
// transaction under an advisory lock, so replicas starting together
// take turns.
func (s *Store) start(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer conn.Release()
	var fsync, syncCommit string
	if err := conn.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &syncCommit); err != nil {
		return unavailable(err)
	}
	if fsync != "on" {
		return fmt.Errorf("%w: fsync is %s", ErrNotDurable, fsync)
	}
	if syncCommit == "off" {
		return fmt.Errorf("%w: synchronous_commit is off", ErrNotDurable)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("migrate", s.schema)); err != nil {
		return unavailable(err)
	}
	have, err := s.version(ctx, tx)
	if err != nil {
		return err
	}
	if have > schemaVersion {
		return &VersionError{Schema: s.schema, Have: have, Want: schemaVersion}
	}
	for v := have; v < schemaVersion; v++ {
		for _, stmt := range migrations[v] {
			if _, err := tx.Exec(ctx, s.q.expand(stmt)); err != nil {
				return fmt.Errorf("pgstate: migrating schema %q to version %d: %w", s.schema, v+1, unavailable(err))
			}
		}
		s.log.Info("pgstate: schema migrated", "schema", s.schema, "version", v+1)
	}
	if have < schemaVersion {
		if _, err := tx.Exec(ctx, s.q.expand(`UPDATE {s}.schema_version SET version = $1`), schemaVersion); err != nil {
			return unavailable(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return unavailable(err)
	}
	return replicated(ctx, conn.Conn().PgConn())
}

// version reads the schema's version: 0 for a schema not yet made.
func (s *Store) version(ctx context.Context, tx pgx.Tx) (int, error) {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_version')`, s.schema).Scan(&exists); err != nil {
		return 0, unavailable(err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := tx.QueryRow(ctx, s.q.expand(`SELECT version FROM {s}.schema_version`)).Scan(&v); err != nil {
		return 0, fmt.Errorf("pgstate: reading the schema version of %q: %w", s.schema, unavailable(err))
	}
	return v, nil
}

// Close releases the leader's connection (and with it the lead) and
// the pool. Close the ledger.Log on the store first.
func (s *Store) Close() error {
	s.leadMu.Lock()
	if s.leadConn != nil {
		s.leadConn.Close(context.Background())
		s.leadConn = nil
	}
	s.leadMu.Unlock()
	s.pool.Close()
	return nil
}

// Ping checks that the database answers (a connection of the pool
// makes a round trip), within Options.OpTimeout; /readyz asks it. A
// failure wraps state.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstate: %w", unavailable(err))
	}
	return nil
}

// op bounds one of the operations the sequencer waits for by
// Options.OpTimeout (ctx's own deadline, if sooner, still holds).
func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTime)
}

// Schema is the PostgreSQL schema the store uses.
func (s *Store) Schema() string { return s.schema }

// DropSchema deletes a schema and everything in it (test clean-up and
// a deliberate reset; nothing calls it on its own).
func DropSchema(ctx context.Context, dsn, schema string) error {
	if !schemaName.MatchString(schema) {
		return fmt.Errorf("pgstate: schema name %q: want lower-case letters, digits and _", schema)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("pgstate: %s: %w", Redact(dsn), unavailable(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
	return unavailable(err)
}

// lockKey is the advisory lock key of one use (lead, migrate) for a
// schema: databases and schemas share PostgreSQL's one key space.
func lockKey(use, schema string) int64 {
	h := sha256.Sum256([]byte("elicense/" + use + "/" + schema))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// Redact returns dsn with its password hidden, for messages: a URL's
// password, or a key=value string's password value.
func Redact(dsn string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "(a DSN that does not parse)"
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	// key=value: a value may be quoted (with spaces and \' inside) and
	// spaces may surround the =.
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

var kvPassword = regexp.MustCompile(`(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

// Package pgtest runs throwaway PostgreSQL clusters of a test's own, for
// tests that stop, kill or fail over the database, which the machine's
// shared server must never be. A Cluster is made with the server's own
// binaries (initdb, postgres, pg_basebackup, pg_ctl), listens on a free
// loopback port, trusts local connections, makes commits durable (fsync
// and synchronous_commit on) and is removed when the test ends. Run as
// root, the binaries run as the postgres user, since PostgreSQL refuses
// to run as root.
//
// New starts a primary; Standby clones one with pg_basebackup -R and
// starts it streaming from it. Stop, Kill and Start take a cluster down
// and up again on the same port and data; Promote ends a standby's
// recovery. Tests reach a cluster through DSN.
package pgtest

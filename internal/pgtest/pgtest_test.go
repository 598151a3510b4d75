package pgtest

import (
	"testing"
	"time"
)

// TestCluster takes a primary through an immediate shutdown and a
// SIGKILL, clones a synchronous standby from it, commits through both
// and promotes the standby after the primary's SIGKILL.
func TestCluster(t *testing.T) {
	p := New(t, Options{})
	want(t, p, "SHOW fsync", "on")
	want(t, p, "CREATE TABLE t (v int); INSERT INTO t VALUES (1)", "CREATE TABLE\nINSERT 0 1")
	for _, down := range []struct {
		name string
		do   func() error
	}{
		{"immediate shutdown", func() error { return p.Stop("immediate") }},
		{"SIGKILL of the postmaster", p.Kill},
	} {
		if err := down.do(); err != nil {
			t.Fatalf("%s: %v", down.name, err)
		}
		if _, err := p.Query("SELECT 1"); err == nil {
			t.Fatalf("after %s the server still answers", down.name)
		}
		if err := p.Start(); err != nil {
			t.Fatalf("restart after %s: %v", down.name, err)
		}
		want(t, p, "SELECT count(*) FROM t", "1")
	}

	s := p.Standby(t, Options{})
	want(t, s, "SELECT pg_is_in_recovery()", "t")
	if err := p.Set("synchronous_standby_names", "*"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitSynchronous(30 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, s.Log())
	}
	want(t, p, "INSERT INTO t VALUES (2)", "INSERT 0 1") // waits for the standby
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(); err != nil {
		t.Fatal(err)
	}
	want(t, s, "SELECT pg_is_in_recovery()", "f")
	want(t, s, "INSERT INTO t VALUES (3); SELECT count(*) FROM t", "INSERT 0 1\n3")
}

func want(t *testing.T, c *Cluster, sql, out string) {
	t.Helper()
	got, err := c.Query(sql)
	if err != nil || got != out {
		t.Fatalf("%s: %q %v, want %q\n%s", sql, got, err, out, c.Log())
	}
}

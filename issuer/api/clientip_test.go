package api

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestClientAddress(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7,2001:db8:1::/48")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		realIP  string
		want    string
	}{
		{"no proxies: the peer, whatever the headers", nil, "203.0.113.9:4000", []string{"1.1.1.1"}, "2.2.2.2", "203.0.113.9"},
		{"untrusted peer: the peer", proxies, "203.0.113.9:4000", []string{"1.1.1.1"}, "2.2.2.2", "203.0.113.9"},
		{"trusted peer, no headers: the peer", proxies, "10.1.2.3:4000", nil, "", "10.1.2.3"},
		{"trusted peer: the address it reports", proxies, "10.1.2.3:4000", []string{"198.51.100.4"}, "", "198.51.100.4"},
		{"right-most untrusted, not the forged left-most", proxies, "10.1.2.3:4000", []string{"6.6.6.6, 198.51.100.4, 10.9.9.9"}, "", "198.51.100.4"},
		{"several header lines read as one list", proxies, "10.1.2.3:4000", []string{"6.6.6.6", "198.51.100.4, 192.0.2.7"}, "", "198.51.100.4"},
		{"all trusted: the left-most", proxies, "10.1.2.3:4000", []string{"10.0.0.1, 10.0.0.2"}, "", "10.0.0.1"},
		{"garbage stops at the last vouched-for hop", proxies, "10.1.2.3:4000", []string{"198.51.100.4, nonsense, 10.0.0.5"}, "", "10.0.0.5"},
		{"entries with ports", proxies, "10.1.2.3:4000", []string{"[2001:db8:2::5]:443, 198.51.100.4:80"}, "", "198.51.100.4"},
		{"X-Real-IP when there is no X-Forwarded-For", proxies, "10.1.2.3:4000", nil, "198.51.100.8", "198.51.100.8"},
		{"bad X-Real-IP: the peer", proxies, "10.1.2.3:4000", nil, "zzz", "10.1.2.3"},
		{"IPv4-mapped peer is IPv4", proxies, "[::ffff:10.1.2.3]:4000", []string{"198.51.100.4"}, "", "198.51.100.4"},
		{"IPv6 proxy", proxies, "[2001:db8:1::9]:4000", []string{"2001:db8:9::1"}, "", "2001:db8:9::1"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if tc.realIP != "" {
			r.Header.Set("X-Real-IP", tc.realIP)
		}
		if got := (clientIPs{trusted: tc.trusted}).extract(r); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "pipe"
	if got := (clientIPs{}).extract(r); got != "" {
		t.Errorf("no peer address: %q", got)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "[]",
		"10.0.0.0/8":               "[10.0.0.0/8]",
		" 127.0.0.1 , ::1 ":        "[127.0.0.1/32 ::1/128]",
		"10.1.2.3/8":               "[10.0.0.0/8]",
		"::ffff:10.0.0.0/104":      "[10.0.0.0/8]",
		"192.168.0.0/16,,fd00::/8": "[192.168.0.0/16 fd00::/8]",
	} {
		got, err := ParseTrustedProxies(in)
		if err != nil || fmtPrefixes(got) != want {
			t.Errorf("ParseTrustedProxies(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1-10.0.0.9", "fe80::1%eth0", "*"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
}

func fmtPrefixes(ps []netip.Prefix) string {
	s := "["
	for i, p := range ps {
		if i > 0 {
			s += " "
		}
		s += p.String()
	}
	return s + "]"
}

func TestLimitKey(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.4":         "198.51.100.4",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::",
	} {
		if got := limitKey(netip.MustParseAddr(in)); got.String() != want {
			t.Errorf("limitKey(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	l := newLimiter(2, 10, 100, clock)
	a := netip.MustParseAddr("198.51.100.4")
	for i := range 10 {
		if !l.allow(a) {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if l.allow(a) {
		t.Fatal("request past the burst allowed")
	}
	now = now.Add(time.Second) // two tokens back
	if got := [3]bool{l.allow(a), l.allow(a), l.allow(a)}; got != [3]bool{true, true, false} {
		t.Fatalf("a second later: %v; the refill is not 2 a second", got)
	}
	// 10,000 other addresses: the table stays at its cap, and each new
	// address gets its burst.
	for i := range 10_000 {
		k := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if !l.allow(k) {
			t.Fatalf("fresh address %v refused", k)
		}
		if len(l.index) > 100 || len(l.b) > 100 {
			t.Fatalf("table grew to %d (%d buckets)", len(l.index), len(l.b))
		}
	}
	checkLRU(t, l)
	// a was evicted: it starts again full, which only favours it.
	if _, ok := l.index[a]; ok {
		t.Fatal("least recently used address not evicted")
	}
	// Idle buckets are dropped as traffic passes.
	now = now.Add(time.Minute)
	for range 60 {
		l.allow(a)
	}
	if len(l.index) != 1 {
		t.Fatalf("%d buckets after a minute idle and 60 requests", len(l.index))
	}
	checkLRU(t, l)
	// A recently used entry survives a flood of new ones smaller than
	// the table.
	l = newLimiter(2, 10, 100, clock)
	l.allow(a)
	for i := range 50 {
		l.allow(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
		l.allow(a)
	}
	if _, ok := l.index[a]; !ok {
		t.Fatal("recently used address evicted")
	}
	checkLRU(t, l)
}

// checkLRU checks the list against the index: every bucket once, linked
// both ways.
func checkLRU(t *testing.T, l *limiter) {
	t.Helper()
	n := 0
	prev := int32(-1)
	for i := l.head; i >= 0; i = l.b[i].next {
		if l.b[i].prev != prev {
			t.Fatalf("bucket %d: prev %d, want %d", i, l.b[i].prev, prev)
		}
		if j, ok := l.index[l.b[i].key]; !ok || j != i {
			t.Fatalf("bucket %d (%v) not indexed", i, l.b[i].key)
		}
		prev = i
		if n++; n > len(l.b) {
			t.Fatal("cycle in the LRU list")
		}
	}
	if prev != l.tail || n != len(l.index) || n+len(l.free) != len(l.b) {
		t.Fatalf("list of %d, index %d, free %d, buckets %d", n, len(l.index), len(l.free), len(l.b))
	}
}

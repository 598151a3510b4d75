package counter

import (
	"net"
	"net/url"
	"testing"
)

func TestHostAllowed(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8090}
	v6 := &net.TCPAddr{IP: net.IPv6loopback, Port: 8090}
	v4at80 := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}
	lan := &net.TCPAddr{IP: net.IPv4(192, 168, 1, 10), Port: 8090}
	for _, tc := range []struct {
		host  string
		local net.Addr
		want  bool
	}{
		{"127.0.0.1:8090", v4, true},
		{"localhost:8090", v4, true},
		{"LocalHost:8090", v4, true},
		{"[::1]:8090", v6, true},
		{"localhost:8090", v6, true},
		{"127.0.0.1", v4at80, true},
		{"localhost", v4at80, true},
		{"127.0.0.1:80", v4at80, true},
		{"192.168.1.10:8090", lan, true},

		{"localhost:8090", lan, false}, // localhost is not a LAN address
		{"127.0.0.1:8090", v6, false},
		{"[::1]:8090", v4, false},
		{"127.0.0.1", v4, false},
		{"127.0.0.1:8091", v4, false},
		{"127.0.0.1:08090", v4, true}, // the same port, written oddly
		{"127.0.0.1:", v4, false},
		{"127.0.0.1:0", v4, false},
		{"127.0.0.1:99999", v4, false},
		{"127.0.0.1:-1", v4, false},
		{"evil.example:8090", v4, false},
		{"localhost.:8090", v4, false},
		{"", v4, false},
		{"[::1]", v6, false},
		{"::1:8090", v6, false},
		{"[127.0.0.1]:8090", v4, true},
		{"127.0.0.1:8090", nil, false},
		{"127.0.0.1:8090", &net.UnixAddr{Name: "x"}, false},
		{"127.0.0.1%lo:8090", v4, false},
		{"127.0.0.1 :8090", v4, false},
	} {
		if got := hostAllowed(tc.host, tc.local); got != tc.want {
			t.Errorf("hostAllowed(%q, %v) = %v", tc.host, tc.local, got)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin, host string
		want         bool
	}{
		{"http://127.0.0.1:8090", "127.0.0.1:8090", true},
		{"http://127.0.0.1:8090/", "127.0.0.1:8090", true},
		{"http://LOCALHOST:8090", "localhost:8090", true},
		{"http://127.0.0.1", "127.0.0.1:80", true},
		{"http://[::1]:8090", "[::1]:8090", true},
		{"http://localhost:8090", "127.0.0.1:8090", false},
		{"https://127.0.0.1:8090", "127.0.0.1:8090", false},
		{"http://127.0.0.1:8091", "127.0.0.1:8090", false},
		{"http://u@127.0.0.1:8090", "127.0.0.1:8090", false},
		{"http://127.0.0.1:8090?x", "127.0.0.1:8090", false},
		{"http://127.0.0.1:8090/app", "127.0.0.1:8090", false},
		{"null", "127.0.0.1:8090", false},
		{"", "127.0.0.1:8090", false},
		{"127.0.0.1:8090", "127.0.0.1:8090", false},
		{"http:127.0.0.1:8090", "127.0.0.1:8090", false},
	} {
		if got := sameOrigin(tc.origin, tc.host); got != tc.want {
			t.Errorf("sameOrigin(%q, %q) = %v", tc.origin, tc.host, got)
		}
	}
}

// FuzzHostHeaders: the Host and Origin parsers never panic, and whatever
// they admit names the local address's port.
func FuzzHostHeaders(f *testing.F) {
	for _, s := range []string{"127.0.0.1:8090", "localhost:8090", "[::1]:8090", "http://127.0.0.1:8090", "evil:1", "[", "]:80", "a:b:c", "127.0.0.1:99999999999999999999"} {
		f.Add(s)
	}
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8090}
	f.Fuzz(func(t *testing.T, s string) {
		if hostAllowed(s, local) {
			name, port, ok := splitHost(s)
			if !ok || port != 8090 || (name != "localhost" && !net.ParseIP(name).Equal(local.IP)) {
				t.Fatalf("admitted %q as %q %d", s, name, port)
			}
		}
		if sameOrigin(s, "127.0.0.1:8090") {
			u, err := url.Parse(s)
			if err != nil || u.Scheme != "http" || !hostAllowed(u.Host, local) {
				t.Fatalf("origin %q admitted", s)
			}
		}
	})
}

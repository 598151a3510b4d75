package counter

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// TokenHeader carries the per-start token on every POST to /api/. The page
// finds the token in index.html's <meta name="counter-token">.
const TokenHeader = "X-Counter-Token"

// tokenSlot is the empty meta tag in assets/index.html that New fills.
var tokenSlot = []byte(`<meta name="counter-token" content="">`)

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b)
}

// allowed refuses, with 403, a request that is not from the page itself:
// a foreign Host on any path; on /api/, a foreign Origin or a cross-site
// Sec-Fetch-Site.
func (h *handler) allowed(w http.ResponseWriter, r *http.Request) bool {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !hostAllowed(r.Host, local) {
		apiError(w, http.StatusForbidden, "BAD_HOST", "the Host header does not name this counter (use the address it listens on, or localhost)")
		return false
	}
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		// Another site may link to the page or load its assets; it cannot
		// read them, and the API below refuses its requests.
		return true
	}
	if o, ok := r.Header["Origin"]; ok && (len(o) != 1 || !sameOrigin(o[0], r.Host)) {
		apiError(w, http.StatusForbidden, "CROSS_ORIGIN", "request from another origin refused")
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none": // none: the clerk typed the address
	default:
		apiError(w, http.StatusForbidden, "CROSS_SITE", "request from another site refused")
		return false
	}
	return true
}

// hasToken refuses, with 403, a request without this start's token.
func (h *handler) hasToken(w http.ResponseWriter, r *http.Request) bool {
	got := r.Header.Values(TokenHeader)
	if len(got) != 1 || subtle.ConstantTimeCompare([]byte(got[0]), []byte(h.token)) != 1 {
		apiError(w, http.StatusForbidden, "BAD_TOKEN", "missing or stale page token: reload the page")
		return false
	}
	return true
}

// hostAllowed reports whether host (a Host header) names the server at
// local, the address the connection arrived on: that IP and port, or
// localhost on that port when the IP is loopback. Without local (a
// handler called outside net/http's server) nothing is allowed.
func hostAllowed(host string, local net.Addr) bool {
	tcp, ok := local.(*net.TCPAddr)
	if !ok || tcp == nil {
		return false
	}
	name, port, ok := splitHost(host)
	if !ok || port != tcp.Port {
		return false
	}
	if name == "localhost" {
		return tcp.IP.IsLoopback()
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.Equal(tcp.IP)
}

// splitHost splits a Host header or an origin's host into a lower-case
// name without brackets and a port (80 when absent).
func splitHost(host string) (name string, port int, ok bool) {
	if host == "" {
		return "", 0, false
	}
	name, p, err := net.SplitHostPort(host)
	if err != nil { // no port: the default one
		switch {
		case strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]"):
			name = host[1 : len(host)-1]
		case strings.ContainsAny(host, ":[]"):
			return "", 0, false
		default:
			name = host
		}
		p = "80"
	}
	if strings.ContainsAny(name, "/@ \t%") {
		return "", 0, false
	}
	n := 0
	for _, c := range []byte(p) {
		if c < '0' || c > '9' || n > 65535 {
			return "", 0, false
		}
		n = n*10 + int(c-'0')
	}
	if p == "" || n == 0 || n > 65535 || name == "" {
		return "", 0, false
	}
	return strings.ToLower(name), n, true
}

// sameOrigin reports whether origin (an Origin header) is http:// and the
// host the request was sent to (already checked by hostAllowed).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	on, op, ok1 := splitHost(u.Host)
	hn, hp, ok2 := splitHost(host)
	return ok1 && ok2 && on == hn && op == hp
}

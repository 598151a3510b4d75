package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// A clientIPs finds a request's client address: the TCP peer, unless the
// peer is one of the trusted proxies, in which case the address that
// proxy reports (X-Forwarded-For, else X-Real-IP). Anything else in those
// headers was written by the client and is ignored: a rate limit keyed by
// a header the client sets is no limit.
type clientIPs struct {
	trusted []netip.Prefix
}

// ParseTrustedProxies reads a comma-separated list of CIDRs (a bare
// address means that one host), as --trusted-proxies takes it. An empty
// list trusts no proxy.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(f, "/") {
			p, err = netip.ParsePrefix(f)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(f); err == nil {
				if a.Zone() != "" {
					return nil, fmt.Errorf("trusted proxy %q: zones are not allowed", f)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an address", f)
		}
		out = append(out, unmapPrefix(p).Masked())
	}
	return out, nil
}

// unmapPrefix writes an IPv4-mapped IPv6 prefix as IPv4, as addresses are
// compared unmapped.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if !p.Addr().Is4In6() {
		return p
	}
	bits := max(p.Bits()-96, 0)
	return netip.PrefixFrom(p.Addr().Unmap(), bits)
}

func (x clientIPs) isTrusted(a netip.Addr) bool {
	for _, p := range x.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// errNoPeer is a request without a usable TCP peer address (only a
// handler called directly, not through a server, has none).
var errNoPeer = errors.New("no client address")

// addr returns the client address of r.
//
// Behind trusted proxies it is the right-most address of X-Forwarded-For
// that is not a trusted proxy. Each proxy appends the address it received
// the connection from, so reading from the right, every entry up to and
// including the first untrusted one was written by a proxy of ours; that
// entry is the peer our outermost proxy saw, which no client can choose.
// Entries further left were written by the client (or proxies we do not
// know) and may be anything. The left-most entry, which many frameworks
// take, is exactly the one a client forges.
func (x clientIPs) addr(r *http.Request) (netip.Addr, error) {
	peer, err := peerAddr(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(x.trusted) == 0 || !x.isTrusted(peer) {
		return peer, nil
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		return x.fromForwarded(peer, xff), nil
	}
	if a, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
		return a.Unmap().WithZone(""), nil
	}
	return peer, nil
}

// fromForwarded walks X-Forwarded-For (all its header lines, in order)
// from the right. A malformed entry stops the walk: the client is then
// the last address a trusted proxy vouched for, the one to its right.
func (x clientIPs) fromForwarded(peer netip.Addr, lines []string) netip.Addr {
	client := peer
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		for line != "" {
			var f string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				line, f = line[:j], line[j+1:]
			} else {
				line, f = "", line
			}
			a, ok := parseForwarded(strings.TrimSpace(f))
			if !ok {
				return client
			}
			client = a
			if !x.isTrusted(a) {
				return a
			}
		}
	}
	return client
}

// parseForwarded parses one X-Forwarded-For entry: an address, or an
// address with a port as some proxies write it ("1.2.3.4:5",
// "[2001:db8::1]:5").
func parseForwarded(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func peerAddr(remote string) (netip.Addr, error) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: peer %q", errNoPeer, remote)
	}
	return a.Unmap().WithZone(""), nil
}

// extract is echo's IPExtractor: c.RealIP() is the client address, or ""
// when there is none.
func (x clientIPs) extract(r *http.Request) string {
	a, err := x.addr(r)
	if err != nil {
		return ""
	}
	return a.String()
}

// limitKey is the rate-limit key of a client address: the address for
// IPv4, its /64 for IPv6, since one subscriber line is given a /64 and
// can use any address in it.
func limitKey(a netip.Addr) netip.Addr {
	if a.Is4() {
		return a
	}
	p, _ := a.Prefix(64)
	return p.Addr()
}

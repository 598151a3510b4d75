package mobilesdk

import (
	"net/url"
	"strings"
)

// requestIDLen is the length of a request id: "r_" and 22 base64url
// characters (128 random bits, docs/consent.md §4).
const requestIDLen = 2 + 22

// validRequestID reports whether s has the form of a request id.
func validRequestID(s string) bool {
	if len(s) != requestIDLen || !strings.HasPrefix(s, "r_") {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseRequestLink reads what a relying party hands the holder (a QR or a
// link, docs/consent.md §4): the request_uri
// "https://issuer/v1/requests/r_…" or the wallet link
// "https://issuer/wallet/?request=r_…". It returns the issuer's base URL
// (everything before /v1/ or /wallet/, so an issuer under a path prefix
// works) and the request id.
func parseRequestLink(link string) (base, id string, err error) {
	link = strings.TrimSpace(link)
	if link == "" {
		return "", "", wrapf(ErrInvalidArgument, "empty request link")
	}
	if len(link) > 2048 {
		return "", "", wrapf(ErrInvalidArgument, "the request link is %d bytes long", len(link))
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", "", wrapf(ErrInvalidArgument, "the request link is not a URL: %v", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return "", "", wrapf(ErrInvalidArgument, "the request link %q is not an http(s)://host/… link", link)
	}
	path := u.EscapedPath()
	var prefix string
	switch {
	case strings.Contains(path, "/v1/requests/"):
		i := strings.LastIndex(path, "/v1/requests/")
		prefix, id = path[:i], path[i+len("/v1/requests/"):]
		if u.RawQuery != "" {
			return "", "", wrapf(ErrInvalidArgument, "the request_uri %q has a query", link)
		}
	case strings.HasSuffix(path, "/wallet/") || strings.HasSuffix(path, "/wallet"):
		prefix = path[:strings.LastIndex(path, "/wallet")]
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil || len(q["request"]) != 1 {
			return "", "", wrapf(ErrInvalidArgument, "the wallet link %q names no single request (?request=r_…)", link)
		}
		id = q.Get("request")
	default:
		return "", "", wrapf(ErrInvalidArgument, "%q is neither a request_uri (…/v1/requests/r_…) nor a wallet link (…/wallet/?request=r_…)", link)
	}
	if !validRequestID(id) {
		return "", "", wrapf(ErrInvalidArgument, "%q is not a request id (r_ and 22 base64url characters)", id)
	}
	if strings.ContainsAny(prefix, "%?#") {
		return "", "", wrapf(ErrInvalidArgument, "the request link %q has an unusual path", link)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(prefix, "/"), id, nil
}

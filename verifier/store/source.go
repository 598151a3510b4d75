package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// A source is where Sync fetches from: an issuer or any web server over
// http(s), or a directory written by `elicense publish` (file://DIR),
// read with the same paths. A directory source answers 200 or 404, and
// never reads outside DIR: the paths are the protocol's, and os.Root
// refuses any that escapes through "..", an absolute path or a symbolic
// link.
type source struct {
	root *os.Root // nil for http(s)
}

// openSource checks base and opens a directory source.
func openSource(base string) (*source, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("sync: source %q is not a URL: %v", base, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("sync: issuer URL %q has no host", base)
		}
		return &source{}, nil
	case "file":
		dir := strings.TrimPrefix(base, "file://")
		if dir == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("sync: %q is not file://DIR", base)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, fmt.Errorf("sync: %w", err)
		}
		return &source{root: root}, nil
	}
	return nil, fmt.Errorf("sync: source %q is not an http(s) or file:// URL", base)
}

func (s *source) close() {
	if s.root != nil {
		s.root.Close()
	}
}

// getFile reads path (a protocol path such as /v1/trust) under the
// directory. A path with a query (the proof endpoints) has no file: 404.
func (s *source) getFile(path, what string) ([]byte, int, error) {
	name, err := url.PathUnescape(strings.TrimPrefix(path, "/"))
	if err != nil || strings.Contains(path, "?") {
		return nil, http.StatusNotFound, fmt.Errorf("sync: %s: no such file in the directory", what)
	}
	for _, el := range strings.Split(name, "/") {
		if el == "" || el == "." || el == ".." {
			return nil, 0, fmt.Errorf("sync: %s: refusing path %q outside the directory", what, name)
		}
	}
	f, err := s.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, http.StatusNotFound, fmt.Errorf("sync: %s: %s not in the directory", what, name)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sync: %s: %w", what, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("sync: %s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return nil, http.StatusNotFound, fmt.Errorf("sync: %s: %s is not a file", what, name)
	}
	if st.Size() > maxDocument {
		return nil, 0, fmt.Errorf("sync: %s: larger than %d bytes", what, maxDocument)
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, 0, fmt.Errorf("sync: %s: %w", what, err)
	}
	return data, http.StatusOK, nil
}

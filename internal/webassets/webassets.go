// Package webassets serves the embedded files of elicense's web pages (the
// agency console, the holder web wallet, the counter page): content types,
// strong ETags with 304 answers, and the security headers every page
// sends. It knows nothing of what the pages do.
package webassets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Site is a set of static files, read once at start. Its methods are safe
// for concurrent use.
type Site struct {
	csp   string
	files map[string]file
}

type file struct {
	data  []byte
	ctype string
	etag  string
	gz    *gzipped // nil for files too small to be worth compressing
}

// gzipped is a file's gzip form, made on first request: the web wallet's
// WebAssembly module is 17 MB raw and about 4 MB gzipped, and it goes to
// phones.
type gzipped struct {
	once sync.Once
	data []byte
}

// compressFrom is the size from which files are also served gzipped.
const compressFrom = 32 << 10

// New reads every file under dir of fsys (an embed.FS, usually). csp is
// the Content-Security-Policy the site's responses carry.
func New(fsys fs.FS, dir, csp string) (*Site, error) {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, err
	}
	s := &Site{csp: csp, files: map[string]file{}}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		f := file{data: data, ctype: contentType(name), etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		if len(data) >= compressFrom {
			f.gz = &gzipped{}
		}
		s.files["/"+name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webassets: %w", err)
	}
	return s, nil
}

// MustNew is New for embedded files, which cannot fail to read.
func MustNew(fsys fs.FS, dir, csp string) *Site {
	s, err := New(fsys, dir, csp)
	if err != nil {
		panic(err)
	}
	return s
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".wasm":
		return "application/wasm"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Has reports whether the site has the file (a path like "/app.js").
func (s *Site) Has(name string) bool {
	_, ok := s.files[name]
	return ok
}

// SetHeaders sets the headers every response of the site carries, API
// answers included: the CSP, no sniffing, no referrer, no framing, and
// revalidation on every use.
func (s *Site) SetHeaders(h http.Header) {
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-cache")
}

// ServeHTTP serves the files relative to where the site is mounted ("/"
// is index.html); mount it with http.StripPrefix. Only GET and HEAD are
// answered; anything not a file is a 404.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	s.SetHeaders(h)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := r.URL.Path
	if name == "" || name == "/" {
		name = "/index.html"
	}
	f, ok := s.files[name]
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h.Set("Content-Type", f.ctype)
	data, etag := f.data, f.etag
	if f.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			f.gz.once.Do(func() { f.gz.data = compress(f.data) })
			data, etag = f.gz.data, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	// ServeContent answers If-None-Match with 304 and handles HEAD and
	// ranges; a zero time sends no Last-Modified.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func compress(data []byte) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression) // 17 MB wasm: 4.4 MB in 0.5 s; best is 1 % smaller and 3 × slower
	w.Write(data)
	w.Close()
	return b.Bytes()
}

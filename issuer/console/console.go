package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sync"
	"time"
)

//go:embed assets
var assets embed.FS

// ContentSecurityPolicy is sent with every asset: only this origin, plus
// blob: images (the QR codes, fetched with the bearer token).
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type asset struct {
	data  []byte
	ctype string
	etag  string
}

var (
	loadOnce sync.Once
	loaded   map[string]asset
)

func load() map[string]asset {
	loadOnce.Do(func() {
		loaded = map[string]asset{}
		sub, err := fs.Sub(assets, "assets")
		if err != nil {
			panic(err)
		}
		err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(sub, name)
			if err != nil {
				return err
			}
			ctype := mime.TypeByExtension(path.Ext(name))
			switch path.Ext(name) {
			case ".html":
				ctype = "text/html; charset=utf-8"
			case ".js":
				ctype = "text/javascript; charset=utf-8"
			case ".css":
				ctype = "text/css; charset=utf-8"
			case ".svg":
				ctype = "image/svg+xml"
			}
			if ctype == "" {
				ctype = "application/octet-stream"
			}
			sum := sha256.Sum256(data)
			loaded["/"+name] = asset{data: data, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
			return nil
		})
		if err != nil {
			panic(err)
		}
	})
	return loaded
}

// Handler serves the console's embedded assets. Paths are relative to
// where the console is mounted: "/" (or "") is index.html, "/app.js" the
// script, and so on; mount it with http.StripPrefix. Only GET and HEAD are
// served; anything not an asset is a 404.
func Handler() http.Handler {
	files := load()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := r.URL.Path
		if name == "" || name == "/" || name == "/index.html" {
			name = "/index.html"
		}
		a, ok := files[name]
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		h.Set("Content-Type", a.ctype)
		h.Set("ETag", a.etag)
		// ServeContent answers If-None-Match with 304 and handles HEAD
		// and ranges; a zero time sends no Last-Modified.
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.data))
	})
}

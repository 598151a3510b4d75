package wallet

//go:generate env GOOS=js GOARCH=wasm go build -trimpath -ldflags=-s -o assets/wallet.wasm ../../mobile-sdk/wasm

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sync"
	"time"
)

// The directory is embedded whole, so that the package compiles whether or
// not assets/wallet.wasm has been generated.
//
//go:embed assets
var assets embed.FS

// ContentSecurityPolicy is sent with every asset: only this origin, blob:
// images (the QR PNGs made in the page) and, for the WebAssembly module,
// 'wasm-unsafe-eval' (compiling wasm, not JavaScript eval).
const ContentSecurityPolicy = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// WasmMissing is the message of the 404 for /wallet.wasm when the module
// was not generated before the build.
const WasmMissing = "wallet.wasm was not built into this binary: run go generate ./issuer/wallet, then rebuild"

type asset struct {
	data  []byte
	ctype string
	etag  string
}

var (
	loadOnce sync.Once
	loaded   map[string]asset
)

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
			sum := sha256.Sum256(data)
			loaded["/"+name] = asset{data: data, ctype: contentType(name), etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
			return nil
		})
		if err != nil {
			panic(err)
		}
	})
	return loaded
}

// HasWasm reports whether the WebAssembly module was embedded.
func HasWasm() bool {
	_, ok := load()["/wallet.wasm"]
	return ok
}

// Handler serves the wallet's embedded assets. Paths are relative to where
// the wallet is mounted: "/" (or "") is index.html, "/app.js" the script,
// "/wallet.wasm" the SDK; mount it with http.StripPrefix. Only GET and
// HEAD are served; anything not an asset is a 404.
func Handler() http.Handler {
	files := load()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := r.URL.Path
		if name == "" || name == "/" {
			name = "/index.html"
		}
		a, ok := files[name]
		if !ok {
			if name == "/wallet.wasm" {
				h.Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				json.NewEncoder(w).Encode(map[string]string{"error": "wasm_not_built", "message": WasmMissing})
				return
			}
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

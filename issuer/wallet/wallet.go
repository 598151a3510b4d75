package wallet

//go:generate env GOOS=js GOARCH=wasm go build -trimpath -ldflags=-s -o assets/wallet.wasm ../../mobile-sdk/wasm

import (
	"embed"
	"net/http"
	"sync"

	"elicense/internal/webassets"
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

var site = sync.OnceValue(func() *webassets.Site { return webassets.MustNew(assets, "assets", ContentSecurityPolicy) })

// HasWasm reports whether the WebAssembly module was embedded.
func HasWasm() bool { return site().Has("/wallet.wasm") }

// Handler serves the wallet's embedded assets. Paths are relative to where
// the wallet is mounted: "/" (or "") is index.html, "/app.js" the script,
// "/wallet.wasm" the SDK; mount it with http.StripPrefix. Only GET and
// HEAD are served; anything not an asset is a 404, and a missing
// wallet.wasm says how to build it (New can supply one built at start).
func Handler() http.Handler { return New(Options{}) }

package console

import (
	"embed"
	"net/http"
	"sync"

	"elicense/internal/webassets"
)

//go:embed assets
var assets embed.FS

// ContentSecurityPolicy is sent with every asset: only this origin, plus
// blob: images (the QR codes, fetched with the bearer token).
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

var site = sync.OnceValue(func() *webassets.Site { return webassets.MustNew(assets, "assets", ContentSecurityPolicy) })

// Handler serves the console's embedded assets. Paths are relative to
// where the console is mounted: "/" (or "") is index.html, "/app.js" the
// script, and so on; mount it with http.StripPrefix. Only GET and HEAD are
// served; anything not an asset is a 404.
func Handler() http.Handler { return site() }

// Package counter is the counter clerk's web page (核验柜台页面): an
// embedded single page for a keyboard-wedge scanner or a photo of the
// holder's QR, and for a signed OFD document the clerk uploads, and the
// JSON API behind it. It judges no QR itself: the caller passes the verify
// function (elicense-verify serve hands it the store-backed verifier that
// also keeps the replay cache and the log). An OFD file is checked by
// verifier/ofd with the trust the caller gives (Options.OFDTrust); the
// file is read into memory, verified and dropped, never stored or logged.
//
// # The page serves only itself
//
// The page has no login and listens on loopback, so any web page the
// clerk opens in the same browser could otherwise send it requests. The
// handler refuses, with 403 and a JSON reason, and before anything is
// verified or synced:
//
//   - a Host that is not the address the connection arrived on (or
//     localhost on that port, when the address is loopback): this stops
//     DNS rebinding, where another site's name resolves to 127.0.0.1 and
//     its scripts would read the page, token included; it applies to the
//     page and its assets too;
//   - on /api/, an Origin header that is not the page's own origin, and a
//     Sec-Fetch-Site header other than same-origin or none;
//   - on every POST to /api/ (a check, an image, a sync), a request
//     without the per-start token in the X-Counter-Token header
//     ([TokenHeader]).
//
// The refusal codes are BAD_HOST, CROSS_ORIGIN, CROSS_SITE and BAD_TOKEN.
// GET /api/status needs no token: it changes nothing, and another origin
// cannot read its answer (no CORS headers are ever sent).
//
// The token is 32 random bytes drawn when the handler is made. It is
// written into index.html as <meta name="counter-token" content="…">,
// which is served with Cache-Control: no-store; app.js reads it and sends
// it as the header. A meta tag, not an inline script, so the CSP stays
// script-src 'self'. Not a cookie: cookies are shared by every port of a
// host, so another local web app on 127.0.0.1 could read or send it, and
// a browser attaches a cookie to a cross-site form by itself, where a
// header can only be set by a script of the page's own origin (a
// cross-origin fetch with it needs a CORS preflight, which is refused).
// A program other than a browser (a test, a script) reads the token from
// the page the same way: GET /, then the meta tag.
package counter

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"image"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"elicense/certs/catalog"
	"elicense/internal/webassets"
	"elicense/verifier"
	vofd "elicense/verifier/ofd"
	"elicense/verifier/scan"
)

//go:embed assets
var assets embed.FS

// ContentSecurityPolicy is sent with every response: only this origin; the
// camera preview is a MediaStream and the captured frame a blob.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// MaxImage is the largest image /api/image takes.
const MaxImage = 8 << 20

// maxPixels bounds a decoded image (a small PNG can declare a huge canvas).
const maxPixels = 64 << 20

// Options configure the handler.
type Options struct {
	// Verify checks one QR text at now (required). It must be safe for
	// concurrent use.
	Verify func(text string, now time.Time) verifier.Verdict
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Catalog names the disclosed fields; nil: catalog.Default().
	Catalog *catalog.Catalog
	// MaxImage bounds an uploaded image; 0: MaxImage.
	MaxImage int64
	// TrustStatus, when set, reports the state of the trust data for the
	// page's header (GET /api/status, which the page polls every 15 s).
	// It must be safe for concurrent use and return quickly: it reads the
	// state, it does not sync. Nil: the page shows no trust data line and
	// /api/status answers 404.
	TrustStatus func() TrustStatus
	// SyncNow, when set, runs a sync at once and returns when it has
	// finished (the page's 立即同步 button, POST /api/sync). ctx ends when
	// the clerk's request does or after SyncTimeout. An error is shown on
	// the page as it is (so it must hold no secret); the trust data in use
	// must stay the last good one. The handler runs one SyncNow at a time
	// and answers 409 to a second press meanwhile. Nil: the page shows no
	// button and /api/sync answers 404.
	SyncNow func(ctx context.Context) error
	// OFDTrust, when set, gives the trust an uploaded OFD document is
	// verified with (the page's 核验 OFD 文件, POST /api/ofd): the
	// roots, any certificates trusted directly, the TSA roots a seal's
	// time-stamp must chain to to count against a later revocation (each
	// signature's timestamp_trusted says whether it did), and Status, the
	// synced trust bundle's word on revoked seals (nil: revocation is not
	// checked, and the answer says so). The handler sets At and
	// AtSigningTime. It is called once per upload and must be safe for
	// concurrent use; an error (the store cannot be read) is a 503 shown
	// as it is. Nil: the page shows no OFD control and /api/ofd answers
	// 404.
	OFDTrust func() (vofd.Options, error)
	// OFDTimeout bounds one OFD document's verification; past it the
	// upload is answered 422 TOO_COSTLY. 0: OFDTimeout.
	OFDTimeout time.Duration
}

// SyncTimeout bounds one SyncNow call from the page, below the 60 s write
// timeout elicense-verify serve gives a response.
const SyncTimeout = 50 * time.Second

// TrustStatus is what the page shows about the counter's trust data.
type TrustStatus struct {
	SyncedAt    time.Time `json:"synced_at,omitzero"`    // when the data in use was fetched; zero: never
	From        string    `json:"from,omitempty"`        // where it was fetched from
	BundleSeq   uint64    `json:"bundle_seq"`            // sequence of the trust bundle in use
	NextSync    time.Time `json:"next_sync,omitzero"`    // when the next scheduled sync is due; zero: none scheduled
	LastAttempt time.Time `json:"last_attempt,omitzero"` // the last sync tried, good or not
	LastError   string    `json:"last_error,omitempty"`  // why the last sync failed; empty when it succeeded
	Warnings    []string  `json:"warnings,omitempty"`    // staleness of the data in use
	// Syncing is set while a sync runs (a scheduled one, or another
	// process's); the page disables its button meanwhile. The handler sets
	// it too while its own SyncNow runs.
	Syncing bool `json:"syncing,omitempty"`
}

type handler struct {
	opts    Options
	site    *webassets.Site
	token   string
	index   []byte        // index.html with the token in its meta tag
	syncing atomic.Bool   // a SyncNow from the page is running
	ofdSlot chan struct{} // held while an OFD document is verified
}

// New returns the counter page and its API:
//
//	GET  /             the page (and its assets); index.html carries the token
//	POST /api/check    {"text": "EL2:…"} → verdict JSON (Result)        token required
//	POST /api/image    an image (multipart field "image", or the raw body)  token required
//	                   → verdict JSON (Result)
//	GET  /api/status   the trust data's state (TrustStatus, plus "now" and "can_sync");
//	                   404 without Options.TrustStatus
//	POST /api/sync     run SyncNow → {"ok", "error", "status"};             token required
//	                   404 without Options.SyncNow, 409 while one runs
//	POST /api/ofd      an OFD file (the raw body, or multipart field "ofd"),  token required
//	                   ?as_of_signing=1 to judge trust at each signature's time
//	                   → OFDResult; 413 above MaxOFD, 422 not an OFD file;
//	                   404 without Options.OFDTrust
//
// Every request must name this server in its Host; every /api/ request
// must come from the page's own origin (Origin, Sec-Fetch-Site); "token
// required" is the X-Counter-Token header (see the package doc). Refusals
// are 403, bad requests other 4xx, all with {"code", "message"}; a failed
// sync is a 200 with "ok": false, since the request itself was good.
func New(opts Options) http.Handler {
	if opts.Verify == nil {
		panic("counter: Options.Verify is nil")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Catalog == nil {
		opts.Catalog = catalog.Default()
	}
	if opts.MaxImage <= 0 {
		opts.MaxImage = MaxImage
	}
	if opts.OFDTimeout <= 0 {
		opts.OFDTimeout = OFDTimeout
	}
	h := &handler{opts: opts, site: webassets.MustNew(assets, "assets", ContentSecurityPolicy), token: newToken(), ofdSlot: make(chan struct{}, 1)}
	page, err := assets.ReadFile("assets/index.html")
	if err != nil || !bytes.Contains(page, tokenSlot) {
		panic("counter: index.html has no token slot")
	}
	meta := `<meta name="counter-token" content="` + h.token + `">`
	if opts.OFDTrust != nil { // the page shows its OFD control
		meta += "\n" + `<meta name="counter-ofd" content="1">`
	}
	h.index = bytes.Replace(page, tokenSlot, []byte(meta), 1)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.site.SetHeaders(w.Header())
	if !h.allowed(w, r) {
		return
	}
	switch r.URL.Path {
	case "/api/check":
		if h.post(w, r) {
			h.check(w, r)
		}
		return
	case "/api/image":
		if h.post(w, r) {
			h.image(w, r)
		}
		return
	case "/api/sync":
		if h.post(w, r) {
			h.sync(w, r)
		}
		return
	case "/api/ofd":
		if h.opts.OFDTrust == nil {
			apiError(w, http.StatusNotFound, "NOT_FOUND", "this counter verifies no OFD files")
		} else if h.post(w, r) {
			h.ofd(w, r)
		}
		return
	case "/api/status":
		if allow(w, r, http.MethodGet) {
			h.status(w)
		}
		return
	case "/", "/index.html":
		h.page(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "no such API")
		return
	}
	h.site.ServeHTTP(w, r)
}

// page serves index.html with this start's token. Never cached: a page
// kept from an earlier start would send a stale token.
func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		apiError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use GET")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(h.index)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(h.index)
	}
}

// post admits a POST that carries the token.
func (h *handler) post(w http.ResponseWriter, r *http.Request) bool {
	return allow(w, r, http.MethodPost) && h.hasToken(w, r)
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	apiError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use "+method)
	return false
}

// Error is the body of a 4xx answer.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"` // the parameter at fault, if one is
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, Error{Code: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"code":"INTERNAL","message":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

// Field is one disclosed field with its printed label.
type Field struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Value string `json:"value"`
}

// Result is the answer to a check: the verdict plus what the page needs to
// show it.
type Result struct {
	Code             verifier.Code     `json:"code"`
	Headline         string            `json:"headline"` // short Chinese verdict, the page's headline
	OK               bool              `json:"ok"`
	Colour           string            `json:"colour"` // green, amber or red
	Message          string            `json:"message"`
	MessageEN        string            `json:"message_en"`
	Detail           string            `json:"detail,omitempty"`
	Licence          *verifier.Licence `json:"licence,omitempty"`
	Fields           []Field           `json:"fields,omitempty"` // in printed order
	Agency           string            `json:"agency,omitempty"`
	AgencyCode       string            `json:"agency_code,omitempty"`
	StatusAgeSeconds int64             `json:"status_age_seconds"` // 0 when no status data was used
	Warnings         []string          `json:"warnings,omitempty"`
	CheckedAt        time.Time         `json:"checked_at"`
}

func (h *handler) result(vd verifier.Verdict, now time.Time) Result {
	res := Result{
		Code: vd.Code, Headline: vd.Code.Headline(), OK: vd.Code.OK(), Colour: vd.Code.Colour(), Message: vd.Message, MessageEN: vd.MessageEN,
		Detail: vd.Detail, Licence: vd.Licence, Agency: vd.Agency, AgencyCode: vd.AgencyCode,
		StatusAgeSeconds: int64(vd.StatusAge / time.Second), Warnings: vd.Warnings, CheckedAt: now,
	}
	if len(vd.Fields) > 0 {
		seen := map[string]bool{}
		if vd.Licence != nil {
			if cl, ok := h.opts.Catalog.Lookup(vd.Licence.Class); ok {
				for _, f := range cl.Fields {
					if v, ok := vd.Fields[f.Key]; ok {
						res.Fields = append(res.Fields, Field{Key: f.Key, Label: f.Label, Value: v})
						seen[f.Key] = true
					}
				}
			}
		}
		var rest []Field
		for k, v := range vd.Fields {
			if !seen[k] {
				rest = append(rest, Field{Key: k, Label: k, Value: v})
			}
		}
		slices.SortFunc(rest, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
		res.Fields = append(res.Fields, rest...)
	}
	return res
}

func (h *handler) verify(w http.ResponseWriter, text string) {
	now := h.opts.Now()
	writeJSON(w, http.StatusOK, h.result(h.opts.Verify(text, now), now))
}

func (h *handler) check(w http.ResponseWriter, r *http.Request) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		apiError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send application/json: {\"text\": \"EL2:…\"}")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2*scan.MaxLine+1024))
	if err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, "TOO_LARGE", "request body too large")
		return
	}
	var req struct {
		Text *string `json:"text"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "body must be JSON {\"text\": \"…\"}")
		return
	}
	if req.Text == nil {
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "missing \"text\"")
		return
	}
	text := strings.TrimSpace(*req.Text)
	switch {
	case text == "":
		apiError(w, http.StatusBadRequest, "EMPTY", "empty QR text")
		return
	case len(text) > scan.MaxLine:
		apiError(w, http.StatusRequestEntityTooLarge, "TOO_LARGE", "QR text too long")
		return
	}
	h.verify(w, text)
}

func (h *handler) image(w http.ResponseWriter, r *http.Request) {
	data, ok := readUpload(w, r, upload{
		field: "image", limit: h.opts.MaxImage, noFile: "NO_IMAGE",
		raw:         func(ct string) bool { return ct == "application/octet-stream" || strings.HasPrefix(ct, "image/") },
		tooLarge:    "image larger than 8 MB",
		missing:     "no image part (field \"image\")",
		empty:       "empty image",
		unsupported: "send the image as multipart/form-data (field \"image\") or as the raw body",
	})
	if !ok {
		return
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		apiError(w, http.StatusUnprocessableEntity, "BAD_IMAGE", "not a PNG or JPEG image")
		return
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		apiError(w, http.StatusUnprocessableEntity, "BAD_IMAGE", "image dimensions out of range")
		return
	}
	text, err := scan.DecodeImage(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, scan.ErrNoQR) {
			apiError(w, http.StatusUnprocessableEntity, "NO_QR", "未在图片中找到二维码 / no QR code found in the image")
		} else {
			apiError(w, http.StatusUnprocessableEntity, "BAD_IMAGE", "not a PNG or JPEG image")
		}
		return
	}
	h.verify(w, text)
}

// upload says how readUpload takes a file.
type upload struct {
	field       string               // the multipart field (any part with a file name also counts)
	raw         func(ct string) bool // media types taken as the raw body
	limit       int64
	noFile      string // the code for a request without the file
	tooLarge    string // the messages
	missing     string
	empty       string
	unsupported string
}

// readUpload reads a file sent as multipart/form-data or as the raw body,
// at most u.limit bytes. When it returns false it has answered the
// request with a 4xx.
func readUpload(w http.ResponseWriter, r *http.Request, u upload) ([]byte, bool) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var src io.Reader
	switch {
	case ct == "multipart/form-data":
		if params["boundary"] == "" {
			apiError(w, http.StatusBadRequest, "BAD_REQUEST", "multipart body without a boundary")
			return nil, false
		}
		mr, err := r.MultipartReader()
		if err != nil {
			apiError(w, http.StatusBadRequest, "BAD_REQUEST", "bad multipart body")
			return nil, false
		}
		// Room for the part headers around the file.
		r.Body = http.MaxBytesReader(w, r.Body, u.limit+64<<10)
		for {
			p, err := mr.NextPart()
			if err != nil {
				if isTooLarge(err) {
					apiError(w, http.StatusRequestEntityTooLarge, "TOO_LARGE", u.tooLarge)
				} else {
					apiError(w, http.StatusBadRequest, u.noFile, u.missing)
				}
				return nil, false
			}
			if p.FormName() == u.field || p.FileName() != "" {
				src = p
				break
			}
		}
	case u.raw(ct):
		src = r.Body
	default:
		apiError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", u.unsupported)
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(src, u.limit+1))
	switch {
	case isTooLarge(err) || (err == nil && int64(len(data)) > u.limit):
		apiError(w, http.StatusRequestEntityTooLarge, "TOO_LARGE", u.tooLarge)
	case err != nil:
		apiError(w, http.StatusBadRequest, "BAD_REQUEST", "reading the upload failed")
	case len(data) == 0:
		apiError(w, http.StatusBadRequest, u.noFile, u.empty)
	default:
		return data, true
	}
	return nil, false
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

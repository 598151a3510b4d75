// Package counter is the counter clerk's web page (核验柜台页面): an
// embedded single page for a keyboard-wedge scanner or a photo of the
// holder's QR, and the JSON API behind it. It verifies nothing itself; the
// caller passes the verify function (elicense-verify serve hands it the
// store-backed verifier that also keeps the replay cache and the log).
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
	"strings"
	"time"

	"elicense/certs/catalog"
	"elicense/internal/webassets"
	"elicense/verifier"
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
	// page's header (GET /api/status). It must be safe for concurrent use.
	TrustStatus func() TrustStatus
	// SyncNow, when set, runs a sync at once and returns when it has
	// finished (the page's 立即同步 button, POST /api/sync). An error is
	// shown on the page; the trust data in use stays the last good one.
	SyncNow func(ctx context.Context) error
}

// TrustStatus is what the page shows about the counter's trust data.
type TrustStatus struct {
	SyncedAt    time.Time `json:"synced_at,omitzero"`    // when the data in use was fetched
	From        string    `json:"from,omitempty"`        // where it was fetched from
	BundleSeq   uint64    `json:"bundle_seq"`            // sequence of the trust bundle in use
	NextSync    time.Time `json:"next_sync,omitzero"`    // when the next scheduled sync is due; zero: none scheduled
	LastAttempt time.Time `json:"last_attempt,omitzero"` // the last sync tried, good or not
	LastError   string    `json:"last_error,omitempty"`  // why the last sync failed; empty when it succeeded
	Warnings    []string  `json:"warnings,omitempty"`    // staleness of the data in use
}

type handler struct {
	opts Options
	site *webassets.Site
}

// New returns the counter page and its API:
//
//	GET  /             the page (and its assets)
//	POST /api/check    {"text": "EL1:…"} → verdict JSON
//	POST /api/image    an image (multipart field "image", or the raw body) → verdict JSON
//
// Bad requests are answered 4xx with {"code", "message"}.
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
	return &handler{opts: opts, site: webassets.MustNew(assets, "assets", ContentSecurityPolicy)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.site.SetHeaders(w.Header())
	switch r.URL.Path {
	case "/api/check":
		if !allow(w, r, http.MethodPost) {
			return
		}
		h.check(w, r)
		return
	case "/api/image":
		if !allow(w, r, http.MethodPost) {
			return
		}
		h.image(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "no such API")
		return
	}
	h.site.ServeHTTP(w, r)
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
		apiError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send application/json: {\"text\": \"EL1:…\"}")
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
	limit := h.opts.MaxImage
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var src io.Reader
	switch {
	case ct == "multipart/form-data":
		if params["boundary"] == "" {
			apiError(w, http.StatusBadRequest, "BAD_REQUEST", "multipart body without a boundary")
			return
		}
		// Room for the part headers around the image.
		mr, err := r.MultipartReader()
		if err != nil {
			apiError(w, http.StatusBadRequest, "BAD_REQUEST", "bad multipart body")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
		for {
			p, err := mr.NextPart()
			if err != nil {
				if isTooLarge(err) {
					apiError(w, http.StatusRequestEntityTooLarge, "TOO_LARGE", "image larger than 8 MB")
				} else {
					apiError(w, http.StatusBadRequest, "NO_IMAGE", "no image part (field \"image\")")
				}
				return
			}
			if p.FormName() == "image" || p.FileName() != "" {
				src = p
				break
			}
		}
	case ct == "application/octet-stream" || strings.HasPrefix(ct, "image/"):
		src = r.Body
	default:
		apiError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send the image as multipart/form-data (field \"image\") or as the raw body")
		return
	}
	data, err := io.ReadAll(io.LimitReader(src, limit+1))
	if err != nil {
		if isTooLarge(err) {
			apiError(w, http.StatusRequestEntityTooLarge, "TOO_LARGE", "image larger than 8 MB")
		} else {
			apiError(w, http.StatusBadRequest, "BAD_REQUEST", "reading the image failed")
		}
		return
	}
	if int64(len(data)) > limit {
		apiError(w, http.StatusRequestEntityTooLarge, "TOO_LARGE", "image larger than 8 MB")
		return
	}
	if len(data) == 0 {
		apiError(w, http.StatusBadRequest, "NO_IMAGE", "empty image")
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

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

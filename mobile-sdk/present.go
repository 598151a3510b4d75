package mobilesdk

import (
	"errors"
	"strings"
	"time"

	"elicense/certs/qr"

	qrcode "github.com/skip2/go-qrcode"
)

// Presentation timing (docs/formats.md §2.4, "the presentation window"):
// the app shows a new presentation every RefreshSeconds and treats one as
// expired MaxAgeSeconds after it was made; a counter, allowing
// ClockSkewSeconds either way for the two clocks, accepts it from
// PresentedAt − ClockSkewSeconds to PresentedAt + MaxAgeSeconds +
// ClockSkewSeconds by its own clock.
const (
	RefreshSeconds   = 30
	MaxAgeSeconds    = int64(qr.DefaultMaxAge / time.Second)
	ClockSkewSeconds = int64(qr.DefaultClockSkew / time.Second)
)

// DiscloseCredential, among the fields to disclose, reveals the digest of
// the full credential, so a verifier holding the JWS can tie it to the QR.
const DiscloseCredential = qr.DiscloseCredential

// Presentation is one QR presentation and when to replace it.
type Presentation struct {
	Text        string // the QR text, "EL2:…"
	PresentedAt int64  // Unix seconds signed into it
	RefreshAt   int64  // when the app should show a new one (PresentedAt + 30 s)
	ExpiresAt   int64  // when the app treats it as expired (PresentedAt + 60 s; counters allow 30 s more for clock differences)
	// Status is the licence's status as the wallet knows it (StatusValid
	// or StatusUnknown: other statuses are refused), StatusAge how many
	// seconds before PresentedAt the wallet read it (-1: never), and
	// StatusStale whether it is unknown or older than the class allows;
	// the app then shows Licence.StatusNote beside the QR.
	Status      string
	StatusAge   int64
	StatusStale bool
}

// Present makes a holder-bound presentation of the licence: the issuer's
// signed core, the optional fields named in disclose (comma-separated
// keys, see Licence.Optional; empty for the default presentation), the
// time now (Unix seconds; 0 means the current time) and the device
// signature. It needs no network. Call it again to refresh.
//
// A licence the wallet last knew as revoked, suspended or superseded is
// refused with a *StatusError (errors.Is ErrNotPresentable, and
// ErrRevoked, ErrSuspended or ErrSuperseded), whose Message tells the
// holder why in Chinese or English. An unknown or old status does not
// stop a presentation (the counter checks the status itself); the
// Presentation says how old it is.
func (w *Wallet) Present(id, disclose string, now int64) (*Presentation, error) {
	t := w.now()
	if now != 0 {
		t = time.Unix(now, 0)
	}
	r, err := w.resolve(id)
	if err != nil {
		return nil, err
	}
	l := r.licence()
	if !l.Presentable() {
		return nil, &StatusError{ID: r.ID, Status: l.Status, IssuerName: l.IssuerName, RefreshedAt: r.RefreshedAt}
	}
	h, err := parseHolding(r.Holding)
	if err != nil {
		return nil, &StoreError{File: licFileName(r.ID), Corrupt: true, err: err}
	}
	text, err := h.Present(w.key, t, splitList(disclose)...)
	if err != nil {
		return nil, presentErr(err)
	}
	at := t.Unix()
	return &Presentation{Text: text, PresentedAt: at, RefreshAt: at + RefreshSeconds, ExpiresAt: at + MaxAgeSeconds,
		Status: l.Status, StatusAge: l.StatusAge(at), StatusStale: l.StatusStale(at)}, nil
}

// PresentText is Present returning only the QR text.
func (w *Wallet) PresentText(id, disclose string, now int64) (string, error) {
	p, err := w.Present(id, disclose, now)
	if err != nil {
		return "", err
	}
	return p.Text, nil
}

// StaticQR returns a paper token (no time, no device signature) for an
// unbound licence. Device-bound licences — every licence claimed into a
// wallet — are refused (ErrPresentation, wrapping qr.ErrBindingMismatch):
// a copy of a bound licence must not work without the device. A revoked,
// suspended or superseded licence is refused as by Present.
func (w *Wallet) StaticQR(id, disclose string) (string, error) {
	r, err := w.resolve(id)
	if err != nil {
		return "", err
	}
	if l := r.licence(); !l.Presentable() {
		return "", &StatusError{ID: r.ID, Status: l.Status, IssuerName: l.IssuerName, RefreshedAt: r.RefreshedAt}
	}
	h, err := parseHolding(r.Holding)
	if err != nil {
		return "", &StoreError{File: licFileName(r.ID), Corrupt: true, err: err}
	}
	text, err := h.Static(splitList(disclose)...)
	if err != nil {
		return "", presentErr(err)
	}
	return text, nil
}

func presentErr(err error) error {
	var qe *qr.Error
	if errors.As(err, &qe) {
		return &wrapped{reason: ErrPresentation, err: err}
	}
	return err
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// MaxPixelsPerModule bounds QRPNG's scale.
const MaxPixelsPerModule = 64

// QRPNG renders QR text as a PNG at error-correction level M with a
// whole number of pixels per module (1–64; 4 is a good default for a
// phone screen, more for printing). Whole modules keep dense codes
// scannable (docs: a fixed-size render of a large code smears).
func QRPNG(text string, pixelsPerModule int64) ([]byte, error) {
	if pixelsPerModule < 1 || pixelsPerModule > MaxPixelsPerModule {
		return nil, wrapf(ErrInvalidArgument, "pixels per module %d, want 1..%d", pixelsPerModule, MaxPixelsPerModule)
	}
	if text == "" {
		return nil, wrapf(ErrInvalidArgument, "empty QR text")
	}
	png, err := qrcode.Encode(text, qrcode.Medium, -int(pixelsPerModule))
	if err != nil {
		return nil, wrapf(ErrInvalidArgument, "%v", err)
	}
	return png, nil
}

// QRTerminal renders QR text with Unicode half blocks for a terminal
// (dark modules on a light background), at error-correction level M.
func QRTerminal(text string) (string, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return "", wrapf(ErrInvalidArgument, "%v", err)
	}
	return q.ToSmallString(false), nil
}

// QRVersion is the QR version (1–40) the text needs at level M.
func QRVersion(text string) (int64, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return 0, wrapf(ErrInvalidArgument, "%v", err)
	}
	return int64(q.VersionNumber), nil
}

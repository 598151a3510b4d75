package api

import (
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"elicense/issuer/archive"
	"elicense/issuer/service"

	"github.com/labstack/echo/v4"
)

// archiveRequest is the body of POST /v1/archives. Dates are RFC 3339
// or YYYY-MM-DD (midnight, China time).
type archiveRequest struct {
	Agency string `json:"agency"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// ParseArchiveDate reads an archive period bound: RFC 3339, or a day
// (YYYY-MM-DD) meaning its midnight in China time.
func ParseArchiveDate(s string) (time.Time, error) { return archive.ParseDate(s) }

// exportArchive streams an agency's archive package (admin token): POST
// /v1/archives {"agency", "from", "to"}. Everything that can be refused
// is refused before the first byte (a JSON error); the answer is the zip,
// with the manifest's SM3 and the count in trailers. The export is
// recorded in the ledger once the whole package is written: a client
// that goes away midway gets no record.
func (a *API) exportArchive(c echo.Context) error {
	var req archiveRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Agency == "" {
		return fail(http.StatusBadRequest, "bad_request", "agency", "agency is required")
	}
	from, err := ParseArchiveDate(req.From)
	if err != nil {
		return fail(http.StatusBadRequest, "bad_request", "from", "from: %v", err)
	}
	to, err := ParseArchiveDate(req.To)
	if err != nil {
		return fail(http.StatusBadRequest, "bad_request", "to", "to: %v", err)
	}
	name := req.Agency + "-" + from.Format("20060102") + "-" + to.Format("20060102") + ".zip"
	return a.streamArchive(c, name, func(w io.Writer) (*archive.Result, error) {
		res, err := a.o.Service.ExportArchive(c.Request().Context(), operator(c), w, archive.Options{Agency: req.Agency, From: from, To: to})
		var se *service.Error
		if errors.As(err, &se) && se.Code == service.CodeNothingToArchive {
			return nil, fail(http.StatusUnprocessableEntity, se.Code, se.Field, "%s", se.Msg)
		}
		return res, err
	})
}

// streamArchive answers with the package export writes: a JSON error if
// it fails before its first byte; an aborted response (the chunked body
// ends without its last chunk, so the client sees an error, not a clean
// end) if it fails after.
func (a *API) streamArchive(c echo.Context, name string, export func(io.Writer) (*archive.Result, error)) error {
	w := &lazyWriter{c: c, name: name, rc: http.NewResponseController(c.Response().Writer)}
	// A package of many licences takes longer than the server's write
	// timeout allows a request: none until the first byte, then a
	// deadline pushed on as bytes flow (lazyWriter.Write).
	_ = w.rc.SetWriteDeadline(time.Time{})
	res, err := export(w)
	if err != nil {
		if w.started {
			a.o.Logger.Warn("archive export failed midway", "file", name, "err", err)
			panic(http.ErrAbortHandler)
		}
		return err
	}
	w.start()
	h := c.Response().Header()
	h.Set("X-Archive-Manifest-Sm3", hex.EncodeToString(res.Manifest[:]))
	h.Set("X-Archive-Count", strconv.Itoa(res.Count))
	return nil
}

// lazyWriter sends the status and headers with the first byte, so that
// an error before it is still a JSON answer, and keeps the connection's
// write deadline archiveWriteWindow ahead while bytes flow.
type lazyWriter struct {
	c        echo.Context
	rc       *http.ResponseController
	name     string
	started  bool
	deadline time.Time
}

// archiveWriteWindow is how long a write of the package may wait: the
// deadline moves on with every write, so a slow client is cut off, and a
// long export is not.
const archiveWriteWindow = 2 * time.Minute

func (w *lazyWriter) start() {
	if w.started {
		return
	}
	w.started = true
	h := w.c.Response().Header()
	h.Set(echo.HeaderContentType, "application/zip")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+w.name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("Trailer", "X-Archive-Manifest-Sm3, X-Archive-Count")
	w.c.Response().WriteHeader(http.StatusOK)
}

func (w *lazyWriter) Write(b []byte) (int, error) {
	w.start()
	if now := time.Now(); w.rc != nil && now.Add(archiveWriteWindow/2).After(w.deadline) {
		// Not supported by every ResponseWriter (a test recorder); the
		// server's own timeout then applies.
		if w.rc.SetWriteDeadline(now.Add(archiveWriteWindow)) == nil {
			w.deadline = now.Add(archiveWriteWindow)
		}
	}
	return w.c.Response().Write(b)
}

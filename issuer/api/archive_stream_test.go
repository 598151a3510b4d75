package api

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"elicense/issuer/archive"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// streamArchive: a failure before the first byte is an HTTP error; one
// after it aborts the response (the client sees a broken body, not a
// clean end); an export slower than the server's WriteTimeout, before its
// first byte or between writes, still arrives whole.
func TestStreamArchive(t *testing.T) {
	const chunk = 16 << 10
	a := &API{o: Options{Logger: slog.New(slog.DiscardHandler)}}
	exports := map[string]func(io.Writer) (*archive.Result, error){
		"refused": func(io.Writer) (*archive.Result, error) {
			return nil, echo.NewHTTPError(http.StatusUnprocessableEntity, "refused")
		},
		"fails midway": func(w io.Writer) (*archive.Result, error) {
			w.Write(bytes.Repeat([]byte("a"), chunk))
			return nil, errors.New("disk gone")
		},
		"slow": func(w io.Writer) (*archive.Result, error) {
			time.Sleep(400 * time.Millisecond) // longer than WriteTimeout before the first byte
			for range 6 {
				if _, err := w.Write(bytes.Repeat([]byte("a"), chunk)); err != nil {
					return nil, err
				}
				time.Sleep(100 * time.Millisecond)
			}
			return &archive.Result{Count: 6}, nil
		},
	}
	e := echo.New()
	e.Use(middleware.Recover())
	e.POST("/:case", func(c echo.Context) error { return a.streamArchive(c, "x.zip", exports[c.Param("case")]) })
	srv := httptest.NewUnstartedServer(e)
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Start()
	defer srv.Close()
	for _, tc := range []struct {
		name    string
		status  int
		bytes   int
		readErr bool
	}{
		{"refused", http.StatusUnprocessableEntity, -1, false},
		{"fails midway", http.StatusOK, -1, true},
		{"slow", http.StatusOK, 6 * chunk, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/"+tc.name, "application/json", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || (err != nil) != tc.readErr {
				t.Fatalf("status %d, read error %v; want %d, error %v", resp.StatusCode, err, tc.status, tc.readErr)
			}
			if tc.bytes >= 0 && (len(body) != tc.bytes || resp.Trailer.Get("X-Archive-Count") != "6") {
				t.Errorf("%d bytes, trailer %q", len(body), resp.Trailer.Get("X-Archive-Count"))
			}
		})
	}
}

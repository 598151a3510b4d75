package api

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"elicense/certs/receipt"
	"elicense/issuer/service"

	"github.com/labstack/echo/v4"
)

// receiptsPath is the one route a counter token may use.
const receiptsPath = "/v1/receipts"

// counterOnly refuses a counter token anywhere but receiptsPath: it may
// only upload receipts (docs/consent.md §1).
func counterOnly(c echo.Context, op service.Operator) error {
	if op.Role == service.RoleCounter && c.Path() != receiptsPath {
		return fail(http.StatusForbidden, "forbidden", "", "a counter token may only upload receipts (POST %s)", receiptsPath)
	}
	return nil
}

// uploadReceipts is POST /v1/receipts (docs/consent.md §9): a batch of up
// to receipt.MaxBatch receipts, answered {accepted, duplicates, unknown}.
func (a *API) uploadReceipts(c echo.Context) error {
	if ct := c.Request().Header.Get(echo.HeaderContentType); !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return fail(http.StatusUnsupportedMediaType, "unsupported_media_type", "", "Content-Type must be application/json, not %q", ct)
	}
	data, err := io.ReadAll(io.LimitReader(c.Request().Body, receipt.MaxBatchBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(http.StatusRequestEntityTooLarge, "too_large", "", "request body over %d bytes", mbe.Limit)
		}
		return fail(http.StatusBadRequest, "bad_request", "", "reading the body: %v", err)
	}
	if len(data) > receipt.MaxBatchBytes {
		return fail(http.StatusRequestEntityTooLarge, "too_large", "", "request body over %d bytes", receipt.MaxBatchBytes)
	}
	b, err := receipt.ParseBatch(data)
	if err != nil {
		var re *receipt.Error
		if errors.As(err, &re) {
			return fail(http.StatusUnprocessableEntity, "invalid", re.Field, "%s", re.Reason)
		}
		return fail(http.StatusBadRequest, "bad_json", "", "%v", err)
	}
	ans, err := a.o.Service.UploadReceipts(c.Request().Context(), operator(c), b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ans)
}

package api

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	issued        prometheus.Counter
	statusChanges *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry, l Ledger) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "elicense_http_requests_total", Help: "HTTP requests by route, method and status."}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "elicense_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route", "method"}),
		issued:        prometheus.NewCounter(prometheus.CounterOpts{Name: "elicense_licences_issued_total", Help: "Licences issued or re-issued."}),
		statusChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "elicense_status_changes_total", Help: "Suspensions, reinstatements and revocations."}, []string{"action"}),
	}
	reg.MustRegister(m.requests, m.latency, m.issued, m.statusChanges)
	if l != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "elicense_ledger_size", Help: "Entries in the ledger."},
			func() float64 { return float64(l.Size()) }))
	}
	return m
}

// observe counts and times every request by its route pattern (not the
// raw path, which would carry licence identifiers into the metrics).
func (a *API) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		method := c.Request().Method
		a.metrics.requests.WithLabelValues(route, method, strconv.Itoa(c.Response().Status)).Inc()
		a.metrics.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		// Successes at debug level: at thousands of issuances a second the
		// metrics say enough; refusals and failures at info and above.
		level := slog.LevelDebug
		switch st := c.Response().Status; {
		case st >= 500:
			level = slog.LevelError
		case st >= 400:
			level = slog.LevelInfo
		}
		a.o.Logger.Log(c.Request().Context(), level, "request", "method", method, "route", route, "status", c.Response().Status,
			"ms", float64(time.Since(start).Microseconds())/1000)
		return nil
	}
}

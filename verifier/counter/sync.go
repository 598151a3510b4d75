package counter

import (
	"context"
	"net/http"
	"time"
)

// StatusAnswer is the body of GET /api/status.
type StatusAnswer struct {
	TrustStatus
	// Now is the counter's clock, against which the page reckons "3 分钟前"
	// (the browser's clock may differ).
	Now time.Time `json:"now"`
	// CanSync says whether the page offers 立即同步 (Options.SyncNow set).
	CanSync bool `json:"can_sync"`
}

// SyncAnswer is the body of POST /api/sync.
type SyncAnswer struct {
	OK     bool          `json:"ok"`
	Error  string        `json:"error,omitempty"`  // why the sync failed
	Status *StatusAnswer `json:"status,omitempty"` // the state after it; nil without Options.TrustStatus
}

func (h *handler) trustStatus() *StatusAnswer {
	if h.opts.TrustStatus == nil {
		return nil
	}
	st := StatusAnswer{TrustStatus: h.opts.TrustStatus(), Now: h.opts.Now(), CanSync: h.opts.SyncNow != nil}
	st.Syncing = st.Syncing || h.syncing.Load()
	return &st
}

func (h *handler) status(w http.ResponseWriter) {
	st := h.trustStatus()
	if st == nil {
		apiError(w, http.StatusNotFound, "NOT_CONFIGURED", "this counter reports no trust data status")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) sync(w http.ResponseWriter, r *http.Request) {
	if h.opts.SyncNow == nil {
		apiError(w, http.StatusNotFound, "NOT_CONFIGURED", "this counter cannot sync from the page")
		return
	}
	if !h.syncing.CompareAndSwap(false, true) {
		apiError(w, http.StatusConflict, "SYNC_RUNNING", "a sync is already running")
		return
	}
	err := func() error {
		defer h.syncing.Store(false)
		ctx, cancel := context.WithTimeout(r.Context(), SyncTimeout)
		defer cancel()
		return h.opts.SyncNow(ctx)
	}()
	ans := SyncAnswer{OK: err == nil, Status: h.trustStatus()}
	if err != nil {
		ans.Error = err.Error()
	}
	writeJSON(w, http.StatusOK, ans)
}

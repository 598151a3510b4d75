package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressBars draws one bar per large download on w from the sync's
// progress reports (store.SyncOptions.OnProgress).
func progressBars(w io.Writer) func(what string, done, total int64) {
	var bar *progressbar.ProgressBar
	var cur string
	return func(what string, done, total int64) {
		if bar != nil && cur == what && total != bar.GetMax64() {
			bar.ChangeMax64(total) // the length was not announced
		}
		if bar == nil || cur != what {
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(what), progressbar.OptionShowBytes(true),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			cur = what
		}
		bar.Set64(done)
		if done >= total {
			bar.Finish()
			bar = nil
		}
	}
}

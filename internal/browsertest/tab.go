package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Tab drives one browser tab (from Open) for a test, as a user would:
// every failure is fatal to the test.
type Tab struct {
	T   *testing.T
	Ctx context.Context
	// Timeout bounds each step and each wait; zero means 10 s.
	Timeout time.Duration
	// Status, when set, is the selector of the page's status line, whose
	// text a failed wait reports.
	Status string
}

func (b *Tab) timeout() time.Duration {
	if b.Timeout > 0 {
		return b.Timeout
	}
	return 10 * time.Second
}

// Do runs steps within the timeout.
func (b *Tab) Do(steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, b.timeout())
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.T.Fatalf("browser: %v", err)
	}
}

// Eval evaluates a JavaScript expression in the tab.
func Eval[T any](b *Tab, expr string) T {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, b.timeout())
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.T.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Text is the trimmed text of the first element sel selects ("" if none).
func (b *Tab) Text(sel string) string {
	b.T.Helper()
	return strings.TrimSpace(Eval[string](b, fmt.Sprintf(`(document.querySelector(%s) || {}).textContent || ''`, Quote(sel))))
}

// WaitFor polls a JavaScript condition until it holds.
func (b *Tab) WaitFor(what, cond string) {
	b.T.Helper()
	_, err := chromedp.Run(b.Ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(b.timeout())))
	if err != nil {
		status := ""
		if b.Status != "" {
			status = fmt.Sprintf("; status %q", b.Text(b.Status))
		}
		b.T.Fatalf("waiting for %s (%s): %v%s", what, cond, err, status)
	}
}

// Set puts a value in a control as a user would leave it and fires the
// input and change events.
func (b *Tab) Set(sel, value string) {
	b.T.Helper()
	b.Do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const e = document.querySelector(%s);
		if (!e) throw new Error('no element ' + %s);
		e.value = %s;
		e.dispatchEvent(new Event('input', {bubbles: true}));
		e.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, Quote(sel), Quote(sel), Quote(value))))
}

// Click clicks the element sel selects once it is visible.
func (b *Tab) Click(sel string) {
	b.T.Helper()
	b.Do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// Visible reports whether the element sel selects is shown.
func (b *Tab) Visible(sel string) bool {
	b.T.Helper()
	return Eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && !!e.offsetParent; })()`, Quote(sel)))
}

package browsertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Console watches a tab's console for what the page reports as wrong:
// uncaught exceptions, console.error, and security (CSP) reports.
type Console struct {
	tab      context.Context
	mu       sync.Mutex
	problems []string
	end      chan struct{}
}

const endMark = "browsertest-console-end"

// WatchConsole starts watching tab's console. With ignoreNetwork,
// network errors are not problems (for a page that gets 4xx answers on
// purpose).
func WatchConsole(tab context.Context, ignoreNetwork bool) *Console {
	c := &Console{tab: tab, end: make(chan struct{})}
	go func() {
		for m, err := range chromedp.Console(tab) {
			if err != nil {
				return
			}
			if m.Text == endMark {
				close(c.end)
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && !(ignoreNetwork && m.Source == "network")) || m.Source == "security" {
				c.mu.Lock()
				c.problems = append(c.problems, fmt.Sprintf("%s (%s %s:%d)", m.Text, m.Type, m.URL, m.Line))
				c.mu.Unlock()
			}
		}
	}()
	return c
}

// Check fails t with every problem the page has reported, and when the
// page's Chinese does not render in a real font (CheckCJK); call it once,
// at the end. It logs a mark first and waits for it: messages arrive in
// order, so every earlier one has been looked at.
func (c *Console) Check(t *testing.T) {
	t.Helper()
	CheckCJK(t, c.tab)
	ctx, cancel := context.WithTimeout(c.tab, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`console.info(`+Quote(endMark)+`)`)); err != nil {
		t.Errorf("logging the console's end mark: %v", err)
	}
	select {
	case <-c.end:
	case <-time.After(5 * time.Second):
		t.Error("the console messages did not come through")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.problems) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(c.problems, "\n"))
	}
}

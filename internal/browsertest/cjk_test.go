package browsertest

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestCJKProbe checks the probe itself: Chinese in the machine's fonts is
// readable, and two characters that no font has (private use) are not.
func TestCJKProbe(t *testing.T) {
	tab := Open(t, 400, 300)
	for _, c := range []struct {
		text, script string
		readable     bool
	}{
		{"电子证照", han, true},
		{"\U000F0001\U000F0002", `\p{Co}`, false},
	} {
		page := "data:text/html;charset=utf-8,<html lang=zh-CN><body><p>" + c.text + "</p></body></html>"
		if _, err := chromedp.Run(tab, chromedp.Navigate(page)); err != nil {
			t.Fatal(err)
		}
		r, err := chromedp.Run(tab, chromedp.Evaluate[cjkResult](cjkProbe+"("+Quote(c.script)+")"))
		if err != nil {
			t.Fatal(err)
		}
		if c.readable {
			if !r.Found || !r.Readable {
				t.Errorf("%q: %+v, want readable Chinese (is a CJK font installed? apt-get install -y fonts-noto-cjk)", c.text, r)
			}
			continue
		}
		if !r.Found || r.Readable {
			t.Errorf("%q: %+v, want the probe to see boxes", c.text, r)
		}
	}
}

package browsertest

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"elicense/internal/testneed"
)

// cjkProbe finds the first shown element whose text holds two different
// characters of a script (Han) and draws each of them, and a private-use character that
// no font has, in that element's font family. Without a CJK font the two
// come out as the same missing-glyph box (or nothing), so equal pixels
// mean the page's Chinese is not readable.
const cjkProbe = `((script) => {
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let el = null, chars = [];
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const p = n.parentElement;
    if (!p || !p.getClientRects().length) continue;
    const han = [...new Set(n.data.match(new RegExp(script, 'gu')) || [])];
    if (han.length >= 2) { el = p; chars = han.slice(0, 2); break; }
  }
  if (!el) return {found: false};
  const family = getComputedStyle(el).fontFamily;
  const draw = ch => {
    const c = document.createElement('canvas'); c.width = c.height = 48;
    const x = c.getContext('2d'); x.font = '32px ' + family; x.fillText(ch, 4, 38);
    const d = x.getImageData(0, 0, 48, 48).data;
    let ink = 0; for (let i = 3; i < d.length; i += 4) ink += d[i] > 0;
    return {px: d.join(','), ink};
  };
  const a = draw(chars[0]), b = draw(chars[1]), none = draw('\u{10FFFD}');
  return {found: true, text: chars.join(''), family,
    readable: a.ink > 0 && b.ink > 0 && a.px !== b.px && a.px !== none.px};
})`

// han selects the characters cjkProbe draws.
const han = `\p{Script=Han}`

type cjkResult struct {
	Found    bool   `json:"found"`
	Text     string `json:"text"`
	Family   string `json:"family"`
	Readable bool   `json:"readable"`
}

// CheckCJK fails t when the page in tab shows its Chinese as boxes, which
// is what every page looks like on a machine without a CJK font.
func CheckCJK(t *testing.T, tab context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	r, err := chromedp.Run(ctx, chromedp.Evaluate[cjkResult](cjkProbe+"("+Quote(han)+")"))
	switch {
	case err != nil:
		t.Errorf("checking the page's Chinese text: %v", err)
	case !r.Found:
		t.Errorf("the page shows no Chinese text to check its font with")
	case !r.Readable:
		testneed.Missing(t, testneed.Browser, "the page's Chinese ("+r.Text+", font-family "+r.Family+") renders as boxes: no CJK font; install one (apt-get install -y fonts-noto-cjk)")
	}
}

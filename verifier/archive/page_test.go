package archive

import (
	"slices"
	"strings"
	"testing"
)

// TestPageTexts reads the text objects of page contents: one string an
// object, its TextCodes joined, entities decoded, nothing else.
func TestPageTexts(t *testing.T) {
	const head = `<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="3">`
	const tail = `</ofd:Layer></ofd:Content></ofd:Page>`
	tests := []struct {
		name    string
		content string
		want    []string
		err     bool
	}{
		{"none", head + tail, nil, false},
		{"two objects", head + `<ofd:TextObject ID="4"><ofd:TextCode X="0" Y="3">营业执照</ofd:TextCode></ofd:TextObject><ofd:PathObject ID="5"><ofd:AbbreviatedData>M 0 0 L 1 1 C</ofd:AbbreviatedData></ofd:PathObject><ofd:TextObject ID="6"><ofd:TextCode X="0" Y="3">A&amp;B</ofd:TextCode></ofd:TextObject>` + tail, []string{"营业执照", "A&B"}, false},
		{"codes joined", head + `<ofd:TextObject ID="4"><ofd:TextCode X="0" Y="3">经营</ofd:TextCode><ofd:TextCode X="7" Y="3">范围</ofd:TextCode></ofd:TextObject>` + tail, []string{"经营范围"}, false},
		{"an empty object", head + `<ofd:TextObject ID="4"><ofd:TextCode X="0" Y="3"></ofd:TextCode></ofd:TextObject>` + tail, []string{""}, false},
		{"text outside a TextCode", head + `<ofd:TextObject ID="4">x<ofd:TextCode X="0" Y="3">y</ofd:TextCode></ofd:TextObject>` + tail, []string{"y"}, false},
		{"not XML", head + `<ofd:TextObject>`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pageTexts([]byte(tc.content))
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Errorf("%q, %v; want %q (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

// FuzzPageTexts: any content is read or refused without a panic, and
// what is read is no more text than the content holds.
func FuzzPageTexts(f *testing.F) {
	f.Add([]byte(`<ofd:Page xmlns:ofd="x"><ofd:TextObject><ofd:TextCode>营业执照</ofd:TextCode></ofd:TextObject></ofd:Page>`))
	f.Add([]byte(`<a><TextObject><TextObject><TextCode>&lt;</TextCode></TextObject></TextObject></a>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		texts, err := pageTexts(b)
		if err != nil {
			return
		}
		if n := len(strings.Join(texts, "")); n > len(b) {
			t.Fatalf("%d bytes of text from %d bytes", n, len(b))
		}
	})
}

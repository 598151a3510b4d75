package archive

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: every parser refuses malformed input with ErrMalformed and
// never panics; what ParseManifest accepts has only safe paths.
func FuzzParse(f *testing.F) {
	b, _ := Marshal(goodManifest())
	f.Add(b)
	f.Add([]byte(`{"agency":"A","name":"n","keys":[{"key_id":"k","state":"active"}]}`))
	f.Add([]byte(`{"checkpoint_size":5,"events":[{"index":1,"kind":"issue","raw":"AQ==","proof":[]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := ParseManifest(b); err == nil {
			for _, file := range m.Files {
				if CheckPath(file.Path) != nil {
					t.Fatalf("accepted %q", file.Path)
				}
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("untyped error %v", err)
		}
		if _, err := ParseKeys(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		if _, err := ParseEvents(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		if _, err := ParseMetadata(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		if _, err := ParseCatalogue(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
	})
}

// FuzzFaceDiff: any page text, split into pages and objects anywhere,
// is compared without a panic, and the face's own text, however split,
// is no difference.
func FuzzFaceDiff(f *testing.F) {
	f.Add("营业执照|名称|甲公司|经营范围|一|二三|颁发机构：某局|颁证日期：2026年1月5日|证照标识：1.2.3", uint8(3))
	f.Add("营业执照|第 1 页 共 2 页", uint8(0))
	f.Fuzz(func(t *testing.T, s string, cut uint8) {
		var pages [][]string
		for _, p := range strings.Split(s, "#") {
			pages = append(pages, strings.Split(p, "|"))
		}
		testFace().Diff(pages)
		own := []string{"营业执照", "名称", "甲公司", "经营范围", "一二三", "颁发机构：某局", "颁证日期：2026年1月5日", "证照标识：1.2.3"}
		i := 1 + int(cut)%(len(own)-1)
		pages = [][]string{own[:i], append([]string{"营业执照"}, own[i:]...)}
		if d, ok := testFace().Diff(pages); !ok {
			t.Fatalf("split at %d: %+v", i, d)
		}
	})
}

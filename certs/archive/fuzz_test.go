package archive

import (
	"errors"
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

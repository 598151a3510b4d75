package ofd_test

import (
	"archive/zip"
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	vofd "elicense/verifier/ofd"
)

// forge rewrites the sample's entries: set replaces or adds files (the
// value names a file under testdata/forgery, or is inline when it starts
// with "<"), edit changes one file's bytes.
func forge(tb testing.TB, sample string, set map[string]string, edit map[string]func([]byte) []byte) []byte {
	tb.Helper()
	names, files := zipEntries(tb, readSample(tb, sample))
	for name, src := range set {
		b := []byte(src)
		if !strings.HasPrefix(src, "<") {
			var err error
			if b, err = os.ReadFile("testdata/forgery/" + src); err != nil {
				tb.Fatal(err)
			}
		}
		if _, ok := files[name]; !ok {
			names = append(names, name)
		}
		files[name] = b
	}
	for name, f := range edit {
		files[name] = f(files[name])
	}
	slices.Sort(names[len(names)-len(set):]) // added files in a fixed order
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func replace(old, new string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
}

// The document is VALID only when every shown file is protected by a
// VALID signature; each signature's own verdict is unchanged.
func TestCoverage(t *testing.T) {
	const sample = "gmt0010-sign.ofd"
	trust := sampleTrust(t, readSample(t, sample))
	tests := []struct {
		name      string
		set       map[string]string
		edit      map[string]func([]byte) []byte
		want      vofd.Verdict
		sigs      []vofd.Verdict
		uncovered []string // named in the document's detail
	}{
		{name: "as signed", want: vofd.Valid, sigs: []vofd.Verdict{vofd.Valid, vofd.Valid}},
		{
			name: "second signature dropped",
			set:  map[string]string{"Doc_0/Signs/Signatures.xml": "Signatures-first-only.xml"},
			want: vofd.PartiallyProtected, sigs: []vofd.Verdict{vofd.Valid},
			uncovered: []string{"OFD.xml", "Doc_0/Annots/Annotations.xml"},
		},
		{
			// The review's forgery: with only the first signature left,
			// OFD.xml is free, and it names the attacker's document.
			name: "DocRoot pointed at an attacker's document",
			set: map[string]string{
				"Doc_0/Signs/Signatures.xml":   "Signatures-first-only.xml",
				"Doc_0/Evil.xml":               "Evil.xml",
				"Doc_0/Pages/Evil/Content.xml": "Content.xml",
			},
			edit: map[string]func([]byte) []byte{"OFD.xml": replace("Doc_0/Document_0.xml", "Doc_0/Evil.xml")},
			want: vofd.PartiallyProtected, sigs: []vofd.Verdict{vofd.Valid},
			uncovered: []string{"OFD.xml", "Doc_0/Evil.xml", "Doc_0/Pages/Evil/Content.xml"},
		},
		{
			// Document versions are not read: a reader may show one.
			name: "other versions of the document",
			set:  map[string]string{"Doc_0/Signs/Signatures.xml": "Signatures-first-only.xml"},
			edit: map[string]func([]byte) []byte{"OFD.xml": replace("<ofd:DocRoot>", `<ofd:Versions><ofd:Version ID="1" Index="1" Current="true" BaseLoc="Doc_0/Versions/Version_0.xml"/></ofd:Versions><ofd:DocRoot>`)},
			want: vofd.PartiallyProtected, sigs: []vofd.Verdict{vofd.Valid},
			uncovered: []string{"Doc_0/Versions/Version_0.xml"},
		},
		{
			// Untrusted signatures outrank a gap in coverage.
			name: "untrusted and partly protected",
			set:  map[string]string{"Doc_0/Signs/Signatures.xml": "Signatures-first-only.xml"},
			want: vofd.UntrustedSigner, sigs: []vofd.Verdict{vofd.UntrustedSigner},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := vofd.Options{Trusted: trust, AtSigningTime: true}
			if tc.want == vofd.UntrustedSigner {
				opts.Trusted = nil
			}
			r, err := vofd.Verify(forge(t, sample, tc.set, tc.edit), opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tc.want || !slices.Equal(verdicts(r), tc.sigs) {
				t.Fatalf("verdict %s, signatures %v (%s); want %s %v", r.Verdict, verdicts(r), r.Detail, tc.want, tc.sigs)
			}
			for _, f := range tc.uncovered {
				if !strings.Contains(r.Detail, f) || !slices.Contains(r.Unprotected, f) {
					t.Errorf("%s not reported uncovered: detail %q, unprotected %q", f, r.Detail, r.Unprotected)
				}
			}
			if tc.want == vofd.Valid && (r.Detail != "" || len(r.Unprotected) != 0) {
				t.Errorf("detail %q, unprotected %q", r.Detail, r.Unprotected)
			}
		})
	}
}

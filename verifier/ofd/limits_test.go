package ofd_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"elicense/certs/ofd"
	vofd "elicense/verifier/ofd"
)

// repeatedRefs is a small package whose Document.xml names one page of
// about elems elements pages times, and whose Signatures.xml names one
// Signature.xml sigs times: before each file was read once, its work grew
// with pages × elems and sigs.
func repeatedRefs(tb testing.TB, pages, elems, sigs int) []byte {
	tb.Helper()
	const ns = `xmlns:ofd="http://www.ofdspec.org/2016"`
	var doc, page, list strings.Builder
	fmt.Fprintf(&doc, `<ofd:Document %s><ofd:CommonData><ofd:MaxUnitID>1</ofd:MaxUnitID></ofd:CommonData><ofd:Pages>`, ns)
	for i := range pages {
		fmt.Fprintf(&doc, `<ofd:Page ID="%d" BaseLoc="P/C.xml"/>`, i)
	}
	doc.WriteString(`</ofd:Pages></ofd:Document>`)
	fmt.Fprintf(&page, `<ofd:Page %s><ofd:Content>%s</ofd:Content></ofd:Page>`, ns, strings.Repeat(`<ofd:a x="1"/>`, elems))
	fmt.Fprintf(&list, `<ofd:Signatures %s>`, ns)
	for i := range sigs {
		fmt.Fprintf(&list, `<ofd:Signature ID="%d" BaseLoc="S/Signature.xml"/>`, i)
	}
	list.WriteString(`</ofd:Signatures>`)
	sig := fmt.Sprintf(`<ofd:Signature %s><ofd:SignedInfo><ofd:References CheckMethod="SM3"><ofd:Reference FileRef="/Doc_0/P/C.xml"><ofd:CheckValue>AAAA</ofd:CheckValue></ofd:Reference></ofd:References></ofd:SignedInfo><ofd:SignedValue>V.dat</ofd:SignedValue></ofd:Signature>`, ns)
	root := fmt.Sprintf(`<ofd:OFD %s Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>Doc_0/Signs.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`, ns)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ n, b string }{{"OFD.xml", root}, {"Doc_0/Document.xml", doc.String()}, {"Doc_0/P/C.xml", page.String()},
		{"Doc_0/Signs.xml", list.String()}, {"Doc_0/S/Signature.xml", sig}, {"Doc_0/S/V.dat", "\x30\x00"}} {
		w, err := zw.Create(f.n)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write([]byte(f.b))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// A small upload naming one file many times is refused at once (the
// review measured 18 s for 50 page references, 88 s for 200).
func TestRepeatedReferences(t *testing.T) {
	for _, tc := range []struct {
		name              string
		pages, elems, sig int
		verdict           vofd.Verdict
		detail            string
	}{
		{"one page, one signature", 1, 70000, 1, vofd.Malformed, "SES_Signature"},
		{"200 references to one page", 200, 70000, 1, vofd.Malformed, "named twice"},
		{"200 signatures of one Signature.xml", 1, 70000, 200, vofd.Malformed, "at most 64"},
		{"2 signatures of one Signature.xml", 1, 70000, 2, vofd.Malformed, "two signatures name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := repeatedRefs(t, tc.pages, tc.elems, tc.sig)
			start := time.Now()
			r, _ := vofd.Verify(data, vofd.Options{})
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v", el)
			}
			if r.Verdict != tc.verdict || !strings.Contains(r.Detail+fmt.Sprint(r.Warnings, r.Signatures), tc.detail) {
				t.Errorf("verdict %s %q %+v, want %s with %q", r.Verdict, r.Detail, r.Signatures, tc.verdict, tc.detail)
			}
		})
	}
}

// VerifyContext gives up when its context is done, with no verdict.
func TestVerifyContext(t *testing.T) {
	data := readSample(t, "gmt0010-sign.ofd")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := vofd.VerifyContext(ctx, data, vofd.Options{})
	if !errors.Is(err, context.Canceled) || r.Verdict != vofd.Malformed || len(r.Signatures) != 0 {
		t.Fatalf("%v %s %d", err, r.Verdict, len(r.Signatures))
	}
	if _, err := vofd.VerifyContext(context.Background(), data, vofd.Options{}); err != nil {
		t.Fatal(err)
	}
}

// Bytes before the first local header (a foreign entry a streaming reader
// would take for the page) make the package unreadable, not VALID.
func TestPrependedEntry(t *testing.T) {
	data := readSample(t, "ofdrw-seal.ofd")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("Doc_0/Pages/Page_0/Content.xml")
	w.Write([]byte("EVIL"))
	zw.Close()
	evil := buf.Bytes()
	forged := append(evil[:bytes.Index(evil, []byte("PK\x01\x02"))], data...)
	r, err := vofd.Verify(forged, vofd.Options{Trusted: sampleTrust(t, data), AtSigningTime: true})
	if !errors.Is(err, ofd.ErrZip) || r.Verdict != vofd.Malformed {
		t.Fatalf("%v %s", err, r.Verdict)
	}
}

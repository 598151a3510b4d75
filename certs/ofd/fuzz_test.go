package ofd

import (
	"strings"
	"testing"
	"time"
)

// FuzzOpen feeds container bytes to Open and every part parser.
func FuzzOpen(f *testing.F) {
	for _, s := range []string{"tax-seal.ofd", "ofdrw-seal.ofd"} {
		f.Add(readSample(f, s))
	}
	f.Add(makeZip(f, minEntries()))
	f.Add(makeZip(f, with("Doc_0/Document.xml", strings.Replace(minDoc, "</ofd:Pages>", strings.Repeat(`<ofd:Page ID="2" BaseLoc="Pages/Page_0/Content.xml"/>`, 3)+"</ofd:Pages>", 1))))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		_ = openAll(data, &Limits{MaxTotalSize: 8 << 20, MaxEntrySize: 4 << 20})
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("%d bytes took %v", len(data), el)
		}
	})
}

// fuzzPart fuzzes one XML part of the minimal package.
func fuzzPart(f *testing.F, name, seed string) {
	f.Add([]byte(seed))
	f.Fuzz(func(t *testing.T, data []byte) {
		es := with(name, string(data))
		_ = openAll(makeZip(t, es), nil)
	})
}

func FuzzOFDXML(f *testing.F)        { fuzzPart(f, "OFD.xml", minOFD) }
func FuzzDocumentXML(f *testing.F)   { fuzzPart(f, "Doc_0/Document.xml", minDoc) }
func FuzzResXML(f *testing.F)        { fuzzPart(f, "Doc_0/PublicRes.xml", minRes) }
func FuzzSignaturesXML(f *testing.F) { fuzzPart(f, "Doc_0/Signs/Signatures.xml", minSgs) }
func FuzzSignatureXML(f *testing.F)  { fuzzPart(f, "Doc_0/Signs/Sign_0/Signature.xml", minSig) }

// FuzzParseXML fuzzes the strict XML reader directly.
func FuzzParseXML(f *testing.F) {
	for _, s := range []string{minOFD, minDoc, minSig, `<?xml version="1.0"?><!DOCTYPE a>`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parseXML("x.xml", data, DefaultLimits, parseOpts{keep: keepAll})
	})
}

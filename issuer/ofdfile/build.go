package ofdfile

import (
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	format "elicense/certs/archive"
	"elicense/certs/catalog"
	"elicense/certs/ofd"
	"elicense/certs/ses"
	"elicense/internal/chinatime"
	"elicense/internal/gm"

	qrcode "github.com/skip2/go-qrcode"
)

// ErrInvalid is wrapped by every error about what the caller passed: a
// licence without class or identifier, a seal or key that cannot sign.
var ErrInvalid = errors.New("ofdfile: invalid input")

// Licence is what the file shows and describes: a licence as the issuer
// holds it.
type Licence struct {
	Class      *catalog.Class
	ID         string            // 证照标识, the GB/T 36904 identifier
	Number     string            // 证照编号 as printed, if any
	IssuerName string            // 颁发机构
	IssuerCode string            // 颁发机构代码
	IssuedOn   string            // 颁证日期, YYYY-MM-DD
	Fields     map[string]string // the class's fields by key
	// QR is the static QR text drawn on the page; empty draws none.
	QR string
}

// Sealer is the agency's licence-face seal and the key that may use it:
// Seal is a v4 SES_Seal listing Cert among its signer certificates, and
// Signer holds Cert's key.
type Sealer struct {
	Seal   *ses.Seal
	Cert   []byte // DER
	Signer crypto.Signer
}

// Options of Build.
type Options struct {
	// At is the signing time (SignatureDateTime, the SES_Signature's
	// timeInfo, DocInfo's CreationDate); zero means now. It is cut to the
	// second.
	At time.Time
	// ProviderVersion is written in Signature.xml's Provider ("" for none).
	ProviderVersion string
}

// Package paths of the parts Build writes.
const (
	docRoot        = "Doc_0/Document.xml"
	publicResPath  = "Doc_0/PublicRes.xml"
	signaturesPath = "Doc_0/Signs/Signatures.xml"
	signaturePath  = "Doc_0/Signs/Sign_0/Signature.xml"
	signedValuePth = "Doc_0/Signs/Sign_0/SignedValue.dat"
)

// Algorithm identifiers GB/T 33190 writes as OIDs.
const (
	oidSM2WithSM3 = "1.2.156.10197.1.501"
	providerName  = "elicense"
)

// Build makes the sealed OFD file of l. Errors about l or s wrap
// ErrInvalid; a seal that may not sign at opts.At (outside its validity
// or its certificate's) is the certs/ses error, wrapped.
func Build(l *Licence, s Sealer, opts Options) ([]byte, error) {
	if err := check(l, s); err != nil {
		return nil, err
	}
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Second)

	// The QR's modules, quiet zone included, drawn as a path: no image
	// to render and compress, and crisp at any scale.
	var qr [][]bool
	if l.QR != "" {
		code, err := qrcode.New(l.QR, qrcode.Medium)
		if err != nil {
			return nil, fmt.Errorf("%w: QR text: %v", ErrInvalid, err)
		}
		qr = code.Bitmap()
	}

	ids := &idAlloc{}
	fonts := fontIDs{text: ids.next(), title: ids.next()}
	pages := layout(l, s.Seal, fonts, qr, ids)
	stampID := ids.next()

	files := map[string][]byte{
		ofd.RootPath:  rootXML(l, s.Seal, at),
		docRoot:       documentXML(pages, ids.max()),
		publicResPath: publicResXML(fonts),
	}
	for i, p := range pages {
		files[pagePath(i)] = p.content()
	}
	files[signaturesPath] = signaturesXML()

	last := pages[len(pages)-1]
	sigXML := signatureXML(files, at, opts.ProviderVersion, stampID, last.id, last.seal)
	files[signaturePath] = sigXML
	digest := gm.SM3(sigXML)
	sig, err := ses.SignDigest(s.Seal, s.Cert, deterministic{s.Signer}, digest[:], at, "/"+signaturePath)
	if err != nil {
		return nil, fmt.Errorf("ofdfile: sealing: %w", err)
	}
	if files[signedValuePth], err = sig.Marshal(); err != nil {
		return nil, fmt.Errorf("ofdfile: sealing: %w", err)
	}

	var w ofd.Writer
	for name, b := range files {
		if err := w.Add(name, b); err != nil {
			return nil, err
		}
	}
	return w.Bytes()
}

func check(l *Licence, s Sealer) error {
	switch {
	case l == nil || l.Class == nil:
		return fmt.Errorf("%w: no licence class", ErrInvalid)
	case l.ID == "":
		return fmt.Errorf("%w: no licence identifier", ErrInvalid)
	case s.Seal == nil || s.Seal.Version != ses.V4:
		return fmt.Errorf("%w: a v4 seal is required", ErrInvalid)
	case len(s.Cert) == 0 || s.Signer == nil:
		return fmt.Errorf("%w: no signer certificate or key", ErrInvalid)
	}
	texts := map[string]string{"id": l.ID, "number": l.Number, "issuer name": l.IssuerName, "issuer code": l.IssuerCode, "issued on": l.IssuedOn}
	for k, v := range l.Fields {
		texts["field "+k] = v
	}
	// In a fixed order, so that the same licence gives the same error.
	for _, what := range slices.Sorted(maps.Keys(texts)) {
		if !xmlText(texts[what]) {
			return fmt.Errorf("%w: %s is not UTF-8 text XML can carry", ErrInvalid, what)
		}
	}
	return nil
}

// xmlText reports whether s is valid UTF-8 made only of characters XML
// 1.0 allows (no control characters but tab, newline and carriage return).
func xmlText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}

// deterministic hands the signer a nil random source, which
// *gm.PrivateKey answers with a deterministic nonce (the same input, the
// same signature); any other signer gets crypto/rand as usual.
type deterministic struct{ crypto.Signer }

func (d deterministic) Sign(rnd io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if k, ok := d.Signer.(*gm.PrivateKey); ok {
		return k.Sign(nil, msg, opts)
	}
	return d.Signer.Sign(rnd, msg, opts)
}

// idAlloc hands out the document's object IDs (ST_ID), from 1.
type idAlloc struct{ n int }

func (a *idAlloc) next() int { a.n++; return a.n }
func (a *idAlloc) max() int  { return a.n }

func pagePath(i int) string { return fmt.Sprintf("Doc_0/Pages/Page_%d/Content.xml", i) }

// metadata is the GB/T 36903 metadata of l, in the order written:
// certs/archive owns the rule, which the archive verifier checks files
// against (FileItems, LicenceItems).
func metadata(l *Licence, seal *ses.Seal) []format.Item {
	return format.FileItems(l.Class, format.FileLicence{
		ID: l.ID, Number: l.Number, IssuerName: l.IssuerName, IssuerCode: l.IssuerCode,
		IssuedOn: l.IssuedOn, Fields: l.Fields,
	}, seal.Info.ESID, l.QR)
}

const dateLayout = "2006-01-02"

func rootXML(l *Licence, seal *ses.Seal, at time.Time) []byte {
	docID := gm.SM3([]byte(l.ID))
	x := newXML("OFD", `Version="1.0" DocType="OFD"`)
	x.open("DocBody", "")
	x.open("DocInfo", "")
	x.elem("DocID", hex.EncodeToString(docID[:16]))
	x.elem("Title", l.Class.NameZH)
	x.elem("Author", l.IssuerName)
	x.elem("CreationDate", at.In(chinatime.Zone).Format(dateLayout))
	x.elem("Creator", providerName)
	x.open("CustomDatas", "")
	for _, it := range metadata(l, seal) {
		x.raw(`<ofd:CustomData Name="` + attr(it.Name) + `">` + text(it.Value) + `</ofd:CustomData>`)
	}
	x.close("CustomDatas")
	x.close("DocInfo")
	x.elem("DocRoot", docRoot)
	x.elem("Signatures", "/"+signaturesPath)
	x.close("DocBody")
	return x.done()
}

func documentXML(pages []*page, maxID int) []byte {
	x := newXML("Document", "")
	x.open("CommonData", "")
	x.elem("MaxUnitID", fmt.Sprint(maxID))
	x.open("PageArea", "")
	x.elem("PhysicalBox", fmt.Sprintf("0 0 %s %s", num(pageW), num(pageH)))
	x.close("PageArea")
	x.elem("PublicRes", "PublicRes.xml")
	x.close("CommonData")
	x.open("Pages", "")
	for i, p := range pages {
		x.raw(fmt.Sprintf(`<ofd:Page ID="%d" BaseLoc="Pages/Page_%d/Content.xml"/>`, p.id, i))
	}
	x.close("Pages")
	return x.done()
}

func publicResXML(f fontIDs) []byte {
	x := newXML("Res", `BaseLoc="Res"`)
	x.open("Fonts", "")
	x.raw(fmt.Sprintf(`<ofd:Font ID="%d" FontName="宋体" FamilyName="SimSun" Charset="GB18030"/>`, f.text))
	x.raw(fmt.Sprintf(`<ofd:Font ID="%d" FontName="黑体" FamilyName="SimHei" Charset="GB18030"/>`, f.title))
	x.close("Fonts")
	return x.done()
}

func signaturesXML() []byte {
	x := newXML("Signatures", "")
	x.elem("MaxSignId", "1")
	x.raw(`<ofd:Signature ID="1" Type="Seal" BaseLoc="/` + signaturePath + `"/>`)
	return x.done()
}

// signatureXML is Sign_0's Signature.xml: the references are every file
// in files but Signatures.xml, sorted by name (the signature's own files
// are not in files yet).
func signatureXML(files map[string][]byte, at time.Time, version string, stampID, pageID int, seal box) []byte {
	x := newXML("Signature", "")
	x.open("SignedInfo", "")
	// No Company: it would name the maker of the software again, and
	// readers show it after ProviderName.
	prov := `<ofd:Provider ProviderName="` + providerName + `"`
	if version != "" {
		prov += ` Version="` + attr(version) + `"`
	}
	x.raw(prov + "/>")
	x.elem("SignatureMethod", oidSM2WithSM3)
	x.elem("SignatureDateTime", at.Format("20060102150405Z"))
	x.open("References", `CheckMethod="`+ofd.OIDSM3+`"`)
	for _, name := range sortedNames(files) {
		if name == signaturesPath {
			continue
		}
		h := gm.SM3(files[name])
		x.raw(`<ofd:Reference FileRef="/` + attr(name) + `"><ofd:CheckValue>` + base64.StdEncoding.EncodeToString(h[:]) + `</ofd:CheckValue></ofd:Reference>`)
	}
	x.close("References")
	x.raw(fmt.Sprintf(`<ofd:StampAnnot ID="%d" PageRef="%d" Boundary="%s"/>`, stampID, pageID, seal.String()))
	x.close("SignedInfo")
	x.elem("SignedValue", "/"+signedValuePth)
	return x.done()
}

// xmlBuf writes one OFD XML part: a declaration, then the root element in
// the ofd namespace with the prefix ofd.
type xmlBuf struct {
	b    strings.Builder
	root string
}

func newXML(root, attrs string) *xmlBuf {
	x := &xmlBuf{root: root}
	x.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	x.b.WriteString(`<ofd:` + root + ` xmlns:ofd="` + ofd.Namespace + `"`)
	if attrs != "" {
		x.b.WriteString(" " + attrs)
	}
	x.b.WriteString(">")
	return x
}

func (x *xmlBuf) open(name, attrs string) {
	x.b.WriteString("<ofd:" + name)
	if attrs != "" {
		x.b.WriteString(" " + attrs)
	}
	x.b.WriteString(">")
}

func (x *xmlBuf) close(name string) { x.b.WriteString("</ofd:" + name + ">") }
func (x *xmlBuf) raw(s string)      { x.b.WriteString(s) }
func (x *xmlBuf) elem(name, val string) {
	x.b.WriteString("<ofd:" + name + ">" + text(val) + "</ofd:" + name + ">")
}

func (x *xmlBuf) done() []byte {
	x.close(x.root)
	return []byte(x.b.String())
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\n", "&#10;", "\r", "&#13;", "\t", "&#9;")
)

func text(s string) string { return textEscaper.Replace(s) }
func attr(s string) string { return attrEscaper.Replace(s) }

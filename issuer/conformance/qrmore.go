package conformance

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// qrMore are QR tokens that each break one decoding rule a verifier
// could skip without another check noticing (QR-02, QR-05, QR-07,
// QR-09), and disclosures that break two checks of QR-21 and QR-22 at
// once, which the order of those checks decides.
func (k *kit) qrMore() error {
	w := k.w
	const f = "qr-static.json"
	// Licences of serials of their own, so that the licences made after
	// these keep theirs.
	saved := w.licSerial
	w.licSerial = 9100
	defer func() { w.licSerial = saved }()
	scope := cjkText("business-scope", 1000)
	long, err := w.issueLicence(w.Market, "business-license", "amr-1", 40, false, func(f map[string]string) { f["business_scope"] = scope })
	if err != nil {
		return err
	}
	text, err := long.static("business_scope")
	if err != nil {
		return err
	}
	if len(text) > 4296 {
		panic("conformance: the long token does not fit") // the generator's own data
	}
	k.qrCase(f, text, "VALID_STATIC", "a token disclosing a 1,000-character business scope, ZLIB-compressed to fit", "QR-02", "QR-05", "QR-21")
	payload, err := payloadOf(text)
	if err != nil {
		return err
	}
	raw := rawText(payload)
	if len(raw) <= 4296 {
		panic("conformance: the uncompressed long token is not too long")
	}
	k.qrCase(f, raw, "MALFORMED", "the same token uncompressed: "+itoa(int64(len(raw)))+" characters, over the 4,296 limit, otherwise well-formed", "QR-02")
	bl, err := w.issueLicence(w.Market, "business-license", "amr-1", 41, false, nil)
	if err != nil {
		return err
	}
	static := mustText(bl.static())
	gp, err := payloadOf(static)
	if err != nil {
		return err
	}
	var zb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&zb, zlib.BestCompression)
	zw.Write(gp)
	zw.Close()
	k.qrCase(f, rawText(append(zb.Bytes(), 0)), "MALFORMED", "a ZLIB payload with a byte after the stream", "QR-05")
	pa, err := rewrite(static, nil, nil, func(p *parts) { p.Body[4] = cborOf(uint64(w.Now.Unix())) })
	if err != nil {
		return err
	}
	k.qrCase(f, pa, "MALFORMED", "a static token (no device signature) with presented_at ≠ 0", "QR-09")
	wide, err := rewrite(static, w.Market.signer(), nil, func(p *parts) {
		m := map[int]string{}
		for i := range 65 {
			m[100+i] = "x"
		}
		p.Core[9] = cborOf(m)
	})
	if err != nil {
		return err
	}
	k.add(f, Vector{Rules: []string{"QR-07", "VERIFY-03"}, Description: "a core whose key 9 is a map of 65 pairs, to a verifier holding no trust bundle: decoding refuses it first",
		Input: qrInput{Text: wide, Trust: "none"}, Expected: "MALFORMED"})
	// The police key's certificate allows vehicle licences; the bundle's
	// police agency does not list them.
	vl, err := w.issueLicence(w.Police, "vehicle-license", "gab-1", 80, false, nil)
	if err != nil {
		return err
	}
	k.qrCase(f, mustText(vl.static()), "CLASS_NOT_ALLOWED_FOR_ISSUER", "a vehicle licence by the police key, whose certificate allows the class but whose agency does not list it in the bundle",
		"QR-24", "TRUST-17", "VERIFY-06")
	// amr-exp was signed an hour before now and expires an hour after:
	// young enough for the class, but past its exp from that instant on.
	fresh, err := w.issueLicence(w.Market, "business-license", "amr-exp", 1, false, nil)
	if err != nil {
		return err
	}
	ft := mustText(fresh.static())
	exp := w.Lists["amr-exp"].ExpiresAt
	k.add(f, Vector{Rules: []string{"STATUS-19", "VERIFY-15"}, Description: "a business licence on list amr-exp one second before the list's exp (2 h old: fresh)",
		Now: exp.Add(-time.Second), Input: qrInput{Text: ft, Trust: "context"}, Expected: "VALID_STATIC"})
	k.add(f, Vector{Rules: []string{"STATUS-19", "VERIFY-15", "STATUS-08"}, Description: "the same at the list's exp (2 h old, younger than the class's 24 h): past exp, stale under fail",
		Now: exp, Input: qrInput{Text: ft, Trust: "context"}, Expected: "STATUS_STALE"})
	return k.disclosureOrder(bl)
}

// disclosureOrder are disclosures failing two checks of QR-21/QR-22.
func (k *kit) disclosureOrder(bl *licence) error {
	const f = "disclosures.json"
	good := mustText(bl.static())
	salt := bytes.Repeat([]byte{5}, 16)
	flipProof := func(p *parts) {
		var ds [][]cbor.RawMessage
		_ = cbor.Unmarshal(p.Body[3], &ds)
		var proof [][]byte
		_ = cbor.Unmarshal(ds[0][4], &proof)
		proof[0][0] ^= 1
		ds[0][4] = cborOf(proof)
		p.Body[3] = cborOf(ds)
	}
	for _, c := range []struct {
		desc, want string
		l          leaf
		edit       func(*parts)
	}{
		{"field 40 (not of the class) committed, disclosed with a wrong proof: the proof is checked first", "BAD_DISCLOSURE", leaf{40, salt, "x"}, flipProof},
		{"field 4 (always shown) committed and disclosed with a value failing its validator: not optional is checked first", "BAD_DISCLOSURE", leaf{4, salt, " 张伟"}, nil},
		{"field 40 committed and disclosed with a value no validator could take: not a field of the class (MALFORMED) first", "MALFORMED", leaf{40, salt, "\u0007"}, nil},
	} {
		t, err := recommit(good, k.w.Market, bl.Holding.Credential, []leaf{c.l}, []int{1})
		if err != nil {
			return err
		}
		if c.edit != nil {
			if t, err = rewrite(t, nil, nil, c.edit); err != nil {
				return err
			}
		}
		k.qrCase(f, t, c.want, c.desc, "QR-21", "QR-22", "VERIFY-09")
	}
	return nil
}

// cjkText is n CJK unified ideographs drawn deterministically from label:
// a text that ZLIB compresses little.
func cjkText(label string, n int) string {
	r := &saltReader{label: label}
	var b strings.Builder
	buf := make([]byte, 2)
	for range n {
		r.Read(buf)
		b.WriteRune(rune(0x4e00 + int(binary.BigEndian.Uint16(buf))%0x5000))
	}
	return b.String()
}

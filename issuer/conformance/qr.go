package conformance

import (
	"bytes"
	"compress/zlib"
	"strings"
	"time"

	"elicense/certs/qr"
	"elicense/certs/statuslist"
	"elicense/internal/ledger/tlog"

	"github.com/fxamacker/cbor/v2"
)

// qrInput is the input of a QR vector.
type qrInput struct {
	Text string `json:"text"`
	// Trust is "context" (context.json) or "none" (the verifier holds no
	// trust bundle).
	Trust string `json:"trust"`
	// Prior are texts the same verifier checked before, at the vector's
	// now, in order (replay vectors).
	Prior []string `json:"prior,omitempty"`
}

func (k *kit) qrCase(file, text, want, desc string, rules ...string) {
	k.add(file, Vector{Rules: rules, Description: desc, Input: qrInput{Text: text, Trust: "context"}, Expected: want})
}

// qrState holds the licences the QR vectors share.
type qrState struct {
	bl, dl *licence
}

func (k *kit) qrVectors() error {
	s := &qrState{}
	var err error
	w := k.w
	if s.bl, err = w.issueLicence(w.Market, "business-license", "amr-1", 1, false, nil); err != nil {
		return err
	}
	if s.dl, err = w.issueLicence(w.Police, "drivers-license", "gab-1", 1, true, nil); err != nil {
		return err
	}
	for _, step := range []func(*qrState) error{k.qrStatic, k.qrStatus, k.qrKeys, k.qrDecode, k.qrCoreEdits, k.qrBound, k.qrDisclosures} {
		if err := step(s); err != nil {
			return err
		}
	}
	return nil
}

func (k *kit) qrStatic(s *qrState) error {
	w := k.w
	const f = "qr-static.json"
	good, err := s.bl.static()
	if err != nil {
		return err
	}
	k.qrCase(f, good, "VALID_STATIC", "a static (paper) business licence, every check passes",
		"VERIFY-01", "VERIFY-16", "QR-01", "QR-30", "QR-12", "ID-07", "QR-15", "QR-16", "QR-17", "QR-18", "QR-23", "GM-01", "GM-02", "GM-05", "QR-35", "VER-04", "CAT-04", "CAT-07", "CAT-08", "STATUS-02")
	k.add(f, Vector{Rules: []string{"VERIFY-04"}, Description: "a verifier holding no trust bundle",
		Input: qrInput{Text: good, Trust: "none"}, Expected: "NO_TRUST"})
	exp, err := w.issueLicence(w.Police, "drivers-license", "gab-1", 10, false, func(f map[string]string) { f["valid_term"] = "2012-07-15至2018-07-15" })
	if err != nil {
		return err
	}
	t, _ := exp.static()
	k.qrCase(f, t, "EXPIRED", "a driving licence valid until 2018-07-15", "VERIFY-11", "QR-13", "GM-09")
	nyv, err := w.issueLicence(w.Police, "drivers-license", "gab-1", 11, false, func(f map[string]string) { f["valid_term"] = "2030-07-15至2036-07-15" })
	if err != nil {
		return err
	}
	t, _ = nyv.static()
	k.qrCase(f, t, "NOT_YET_VALID", "a driving licence valid from 2030-07-15", "VERIFY-11", "QR-13")
	// The UTC+8 day boundary: valid until 2026-03-01 ends at 2026-03-01T16:00:00Z.
	edge, err := w.issueLicence(w.Police, "drivers-license", "gab-1", 12, false, func(f map[string]string) { f["valid_term"] = "2020-03-01至2026-03-01" })
	if err != nil {
		return err
	}
	t, _ = edge.static()
	k.add(f, Vector{Rules: []string{"VERIFY-11", "GM-09", "QR-13"}, Description: "valid until 2026-03-01, verified at 23:59:59 that day in UTC+8 (15:59:59Z): still valid",
		Now: time.Date(2026, 3, 1, 15, 59, 59, 0, time.UTC), Input: qrInput{Text: t, Trust: "context"}, Expected: "VALID_STATIC"})
	k.add(f, Vector{Rules: []string{"VERIFY-11", "GM-09", "QR-13"}, Description: "valid until 2026-03-01, verified at 00:00:00 on 2026-03-02 in UTC+8 (16:00:00Z): expired (a UTC reading says valid)",
		Now: time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC), Input: qrInput{Text: t, Trust: "context"}, Expected: "EXPIRED"})
	lt, err := w.issueLicence(w.Market, "business-license", "amr-1", 21, false, func(f map[string]string) { f["term"] = "2019-04-18至长期" })
	if err != nil {
		return err
	}
	t, _ = lt.static()
	k.qrCase(f, t, "VALID_STATIC", "a business licence valid 长期 (no key 5)", "QR-13", "VERIFY-11", "CAT-10")
	mc, err := w.issueLicence(w.Civil, "marriage-certificate", "mz-1", 7, false, nil)
	if err != nil {
		return err
	}
	t, _ = mc.static()
	k.qrCase(f, t, "VALID_STATIC", "a marriage certificate (validity kind none) on a list 1 h old", "CAT-10", "VERIFY-16")
	pol, err := w.issueLicence(w.Police, "business-license", "gab-1", 14, false, nil)
	if err != nil {
		return err
	}
	t, _ = pol.static()
	k.qrCase(f, t, "CLASS_NOT_ALLOWED_FOR_ISSUER", "a business licence signed by the police's key", "VERIFY-06", "QR-24", "CERT-12", "TRUST-17")
	return nil
}

func (k *kit) qrStatus(s *qrState) error {
	w := k.w
	const f = "qr-static.json"
	amr := w.Lists["amr-1"].List
	for idx, st := range map[int]statuslist.Status{2: statuslist.Revoked, 3: statuslist.Suspended, 4: statuslist.Superseded} {
		if err := amr.Set(idx, st); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		idx  uint64
		want string
		desc string
		rule []string
	}{
		{2, "REVOKED", "entry 2 of amr-1 is 1 (revoked)", []string{"STATUS-18", "STATUS-01", "VERIFY-14", "VERIFY-17", "STATUS-02"}},
		{3, "SUSPENDED", "entry 3 of amr-1 is 2 (suspended)", []string{"STATUS-18", "STATUS-01", "VERIFY-14"}},
		{4, "SUPERSEDED", "entry 4 of amr-1 is 3 (superseded)", []string{"STATUS-18", "STATUS-01", "VERIFY-14"}},
		{5000, "STATUS_UNAVAILABLE", "status index 5000 past the end of a 1024-entry list", []string{"STATUS-03", "VERIFY-13", "QR-17"}},
	} {
		l, err := w.issueLicence(w.Market, "business-license", "amr-1", c.idx, false, nil)
		if err != nil {
			return err
		}
		t, _ := l.static()
		k.qrCase(f, t, c.want, c.desc, c.rule...)
	}
	// A copy of the revoked licence's core at another index is judged by
	// its own position (CRED-11): rewrite a valid licence's key 7 to 2.
	t, _ := s.bl.static()
	t, err := rewrite(t, w.Market.signer(), nil, func(p *parts) { p.Core[7] = cborOf(uint64(2)) })
	if err != nil {
		return err
	}
	k.qrCase(f, t, "REVOKED", "the original's identifier with status index 2: status is looked up by (list, index), not by identifier", "CRED-11", "QR-17", "STATUS-18")
	for _, c := range []struct {
		list string
		idx  uint64
		desc string
	}{
		{"zz-9", 1, "status list zz-9 the bundle does not name"},
		{"gab-1", 2, "status list gab-1 of another agency (the police)"},
	} {
		l, err := w.issueLicence(w.Market, "business-license", c.list, c.idx, false, nil)
		if err != nil {
			return err
		}
		t, _ := l.static()
		k.qrCase(f, t, "STATUS_UNAVAILABLE", c.desc, "STATUS-17", "VERIFY-13")
	}
	stale, err := w.issueLicence(w.Market, "business-license", "amr-stale", 1, false, nil)
	if err != nil {
		return err
	}
	t, _ = stale.static()
	k.qrCase(f, t, "STATUS_STALE", "business licence (24 h, fail) on a list 2 days old", "STATUS-19", "VERIFY-15")
	return nil
}

func (k *kit) qrKeys(s *qrState) error {
	w := k.w
	const f = "qr-static.json"
	out, err := w.issueLicence(w.Outsider, "business-license", "amr-1", 12, false, nil)
	if err != nil {
		return err
	}
	t, _ := out.static()
	k.qrCase(f, t, "UNKNOWN_ISSUER", "signed by a key the bundle does not list", "VERIFY-05", "GM-05", "ID-21")
	comp, err := w.issueLicence(w.Compromised, "business-license", "amr-1", 13, false, nil)
	if err != nil {
		return err
	}
	t, _ = comp.static()
	k.qrCase(f, t, "KEY_COMPROMISED", "signed by a compromised key after its compromise", "QR-25", "VERIFY-07", "TRUST-16")
	before := w.compromisedSince().Add(-24 * time.Hour)
	genuine, err := w.issueAt(w.Compromised, "business-license", "amr-1", 15, false, before, nil)
	if err != nil {
		return err
	}
	if err := w.markGenuine(genuine); err != nil {
		return err
	}
	t, _ = genuine.static()
	k.qrCase(f, t, "VALID_STATIC", "compromised key: a core it signed before, listed in its genuine set", "QR-25", "TRUST-16", "TRUST-21", "TRUST-22", "TRUST-20")
	madeUp := func(f map[string]string) { f["name"] = "上海虚构贸易有限公司" }
	thief, err := w.issueAt(w.Compromised, "business-license", "amr-1", 15, false, before.Add(time.Hour), madeUp)
	if err != nil {
		return err
	}
	t, _ = thief.static()
	k.qrCase(f, t, "KEY_COMPROMISED", "compromised key: a thief's backdated core at a genuine core's status position (tag differs)", "QR-25", "TRUST-22", "TRUST-23")
	thief2, err := w.issueAt(w.Compromised, "business-license", "amr-1", 16, false, before.Add(time.Hour), madeUp)
	if err != nil {
		return err
	}
	t, _ = thief2.static()
	k.qrCase(f, t, "KEY_COMPROMISED", "compromised key: a thief's backdated core at a position not in the genuine set", "QR-25", "TRUST-21")
	ret1, err := w.issueAt(w.Retired, "business-license", "amr-1", 17, false, w.retiredSince().Add(-time.Hour), nil)
	if err != nil {
		return err
	}
	t, _ = ret1.static()
	k.qrCase(f, t, "VALID_STATIC", "retired key, core signed an hour before its retirement", "QR-26", "TRUST-16", "QR-18")
	ret2, err := w.issueAt(w.Retired, "business-license", "amr-1", 18, false, w.retiredSince().Add(time.Hour), nil)
	if err != nil {
		return err
	}
	t, _ = ret2.static()
	k.qrCase(f, t, "KEY_RETIRED", "retired key, core signed an hour after its retirement", "QR-26", "QR-18", "VERIFY-07")
	ret3, err := w.issueAt(w.Retired, "business-license", "amr-1", 19, false, w.retiredSince().Add(-time.Hour), nil)
	if err != nil {
		return err
	}
	p, err := split(mustText(ret3.static()))
	if err != nil {
		return err
	}
	t, err = p.textV1(w.Retired.signer())
	if err != nil {
		return err
	}
	k.qrCase(f, t, "KEY_RETIRED", "retired key, version 1 core (no signing time)", "QR-26", "QR-36", "QR-35")
	p, err = split(mustText(s.bl.static()))
	if err != nil {
		return err
	}
	t, err = p.textV1(w.Market.signer())
	if err != nil {
		return err
	}
	k.qrCase(f, t, "VALID_STATIC", "active key, version 1 token (EL1:, no signing time): still read", "QR-35", "QR-36", "VER-04", "QR-08")
	early, err := w.issueAt(w.Market, "business-license", "amr-1", 20, false, w.Now.Add(-48*time.Hour), nil)
	if err != nil {
		return err
	}
	t, _ = early.static()
	k.qrCase(f, t, "EXPIRED", "core signed before the key certificate's NotBefore", "QR-27", "VERIFY-07", "CERT-11")
	return nil
}

func mustText(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func (k *kit) qrDecode(s *qrState) error {
	const f = "qr-static.json"
	good := mustText(s.bl.static())
	payload, err := payloadOf(good)
	if err != nil {
		return err
	}
	var zb bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&zb, zlib.BestCompression)
	zw.Write(payload)
	zw.Close()
	k.qrCase(f, rawText(zb.Bytes()), "VALID_STATIC", "the same payload ZLIB-compressed (starts 0x78)", "QR-05", "QR-04")
	var bomb bytes.Buffer
	zw, _ = zlib.NewWriterLevel(&bomb, zlib.BestCompression)
	zw.Write(append(payload, make([]byte, 5000)...))
	zw.Close()
	k.qrCase(f, rawText(bomb.Bytes()), "MALFORMED", "ZLIB payload inflating past 4,096 bytes", "QR-05")
	for _, c := range []struct {
		text, want, desc string
		rules            []string
	}{
		{"", "MALFORMED", "empty text", []string{"QR-01", "VERIFY-03"}},
		{"hello", "MALFORMED", "plain text", []string{"QR-01", "QR-03"}},
		{"EL2:", "MALFORMED", "prefix with an empty payload", []string{"QR-04"}},
		{"EL2:!!!!", "MALFORMED", "characters outside the Base45 alphabet", []string{"QR-04"}},
		{good[:len(good)-1], "MALFORMED", "truncated by one character (a dangling Base45 character)", []string{"QR-04", "VERIFY-02"}},
		{good + "00", "MALFORMED", "trailing data after the body", []string{"QR-08"}},
		{"EL2:" + strings.Repeat("0", 4297), "MALFORMED", "4,301 characters: over the 4,296 limit", []string{"QR-02"}},
		{"HC1:" + good[4:], "MALFORMED", "another scheme's prefix", []string{"QR-03"}},
		{"el2:" + good[4:], "MALFORMED", "lower-case prefix", []string{"QR-03", "QR-01"}},
		{"EL3:" + good[4:], "UNSUPPORTED_VERSION", "format version 3 prefix", []string{"QR-03", "VER-02", "VER-01", "VER-03"}},
		{"EL10:ABC", "UNSUPPORTED_VERSION", "format version 10 prefix", []string{"QR-03", "VER-02"}},
		{"EL1:" + good[4:], "MALFORMED", "version 2 payload under the version 1 prefix", []string{"QR-08", "VER-02"}},
		{rawText([]byte("not cbor at all, just bytes")), "MALFORMED", "Base45 of bytes that are not CBOR", []string{"QR-06", "VERIFY-03"}},
	} {
		k.qrCase(f, c.text, c.want, c.desc, c.rules...)
	}
	// Non-deterministic CBOR: the body array with a two-byte length head.
	var body []cbor.RawMessage
	if _, err := cbor.UnmarshalFirst(payload, &body); err != nil {
		return err
	}
	long := []byte{0x98, byte(len(body))}
	for _, e := range body {
		long = append(long, e...)
	}
	k.qrCase(f, rawText(long), "MALFORMED", "body array length in a non-minimal head (0x98 0x05)", "QR-06", "GM-07")
	deep := []byte{}
	for range 10 {
		deep = append(deep, 0x81)
	}
	deep = append(deep, 0x00)
	k.qrCase(f, rawText(deep), "MALFORMED", "CBOR nested 11 deep", "QR-07")
	big := append([]byte{0x99, 0x01, 0x01}, make([]byte, 257)...)
	k.qrCase(f, rawText(big), "MALFORMED", "CBOR array of 257 elements", "QR-07")
	return nil
}

// coreEdit is one change to a valid core, re-signed by the agency.
type coreEdit struct {
	desc, want string
	rules      []string
	edit       func(*parts)
}

func (k *kit) qrCoreEdits(s *qrState) error {
	w := k.w
	const f = "qr-static.json"
	good := mustText(s.bl.static())
	fixed := func(n int) []byte { return make([]byte, n) }
	edits := []coreEdit{
		{"unknown core key 13", "MALFORMED", []string{"QR-10"}, func(p *parts) { p.Core[13] = cborOf(1) }},
		{"key 7 = 0 written out (defaults are absent)", "MALFORMED", []string{"QR-06"}, func(p *parts) { p.Core[7] = cborOf(0) }},
		{"no status reference (keys 6 and 7 absent)", "MALFORMED", []string{"QR-09", "CRED-08"}, func(p *parts) { delete(p.Core, 6); delete(p.Core, 7) }},
		{"commitment root of 15 bytes", "MALFORMED", []string{"QR-09"}, func(p *parts) { p.Core[10] = cborOf(fixed(15)) }},
		{"leaf count 0", "MALFORMED", []string{"QR-09"}, func(p *parts) { p.Core[11] = cborOf(0) }},
		{"field 0 in key 9", "MALFORMED", []string{"QR-14", "CAT-04"}, func(p *parts) { p.Core[9] = cborOf(map[int]string{0: "x"}) }},
		{"key 9 carries an optional field (domicile, 8)", "MALFORMED", []string{"QR-28", "QR-15", "VERIFY-08"}, func(p *parts) { p.Core[9] = cborOf(map[int]string{8: "上海市"}) }},
		{"key 9 carries the legal representative with trailing white space", "MALFORMED", []string{"QR-28", "CAT-20", "CAT-12"}, func(p *parts) { p.Core[9] = cborOf(map[int]string{4: "张伟 "}) }},
		{"holder code (key 3) with a wrong check character", "MALFORMED", []string{"QR-28", "CAT-08", "ID-12", "VERIFY-08"}, func(p *parts) { p.Core[3] = cborOf("91310115MA1FPA014H") }},
		{"holder name (key 2) empty", "MALFORMED", []string{"QR-28", "CAT-07"}, func(p *parts) { p.Core[2] = cborOf("") }},
		{"type code not in the catalogue", "MALFORMED", []string{"QR-24", "VERIFY-06", "ID-02"}, func(p *parts) {
			p.Core[1] = cborOf([]any{"11310000PDY00001XQ999", "T000001", 1})
		}},
		{"serial with a lower-case letter (rebuilt identifier invalid)", "MALFORMED", []string{"ID-04", "QR-12", "ID-07", "VERIFY-06"}, func(p *parts) {
			p.Core[1] = cborOf([]any{"11310000PDY00001XQ001", "t000001", 1})
		}},
		{"version 1000 (more than three digits)", "MALFORMED", []string{"ID-05", "QR-12"}, func(p *parts) {
			p.Core[1] = cborOf([]any{"11310000PDY00001XQ001", "T000001", 1000})
		}},
		{"a required always-shown field absent from key 9 (the verifier does not require it)", "VALID_STATIC", []string{"QR-28", "QR-15"}, func(p *parts) { delete(p.Core, 9) }},
	}
	for _, e := range edits {
		t, err := rewrite(good, w.Market.signer(), nil, e.edit)
		if err != nil {
			return err
		}
		k.qrCase(f, t, e.want, e.desc, e.rules...)
	}
	// Signature faults.
	p, err := split(good)
	if err != nil {
		return err
	}
	sig := append([]byte(nil), p.Core[0]...)
	_ = sig
	flip := func(edit func(p *parts)) string {
		t, err := rewrite(good, nil, nil, edit)
		if err != nil {
			panic(err)
		}
		return t
	}
	k.qrCase(f, flip(func(p *parts) {
		var s []byte
		_ = cbor.Unmarshal(p.Body[2], &s)
		s[10] ^= 1
		p.Body[2] = cborOf(s)
	}), "BAD_SIGNATURE", "issuer signature with one bit flipped", "QR-23", "GM-01", "VERIFY-05")
	k.qrCase(f, flip(func(p *parts) {
		var s []byte
		_ = cbor.Unmarshal(p.Body[2], &s)
		p.Body[2] = cborOf(s[:63])
	}), "MALFORMED", "issuer signature of 63 bytes", "QR-09", "GM-02")
	k.qrCase(f, flip(func(p *parts) { p.Body[2] = cborOf(make([]byte, 64)) }), "BAD_SIGNATURE", "issuer signature r = s = 0", "GM-02")
	k.qrCase(f, flip(func(p *parts) {
		p.Core[2] = cborOf("上海虚构贸易有限公司")
		p.Body[0] = cborOf(p.coreBytes())
	}),
		"BAD_SIGNATURE", "holder name changed, not re-signed", "QR-23")
	forged, err := rewrite(good, w.Outsider.signer(), nil, func(*parts) {})
	if err != nil {
		return err
	}
	k.qrCase(f, forged, "BAD_SIGNATURE", "signed by another key under the market key's ID", "QR-23", "GM-05")
	// Signed, but what the clerk would read contradicts the core or its
	// class.
	for _, d := range []struct {
		desc, rule string
		edit       func(*parts)
	}{
		{"key 9 carries the validity field (term, 7) disagreeing with keys 4 and 5", "QR-16",
			func(p *parts) { p.Core[9] = cborOf(map[int]string{7: "2019-04-18至2039-04-17"}) }},
		{"holder name (key 2) failing the name field's validator (leading white space)", "QR-28",
			func(p *parts) { p.Core[2] = cborOf(" 上海浦江示例网络科技有限公司") }},
	} {
		t, err := rewrite(good, w.Market.signer(), nil, d.edit)
		if err != nil {
			return err
		}
		k.add(f, Vector{Rules: []string{d.rule, "CAT-12"}, Description: d.desc, Input: qrInput{Text: t, Trust: "context"}, Expected: "MALFORMED"})
	}
	return nil
}

func (k *kit) qrBound(s *qrState) error {
	w := k.w
	const f = "qr-bound.json"
	now := w.Now
	p := mustText(s.dl.present(now.Add(-5 * time.Second)))
	k.qrCase(f, p, "VALID", "a holder-bound driving licence presented 5 s ago", "VERIFY-01", "VERIFY-16", "QR-29", "QR-32", "QR-30", "VERIFY-10", "CRED-07", "GM-04")
	k.add(f, Vector{Rules: []string{"QR-33", "VERIFY-12"}, Description: "the same presentation shown a second time",
		Input: qrInput{Text: p, Trust: "context", Prior: []string{p}}, Expected: "REPLAYED"})
	for _, c := range []struct {
		d    time.Duration
		want string
		desc string
	}{
		{-90 * time.Second, "VALID", "presented 90 s ago (the window's old edge, inclusive)"},
		{-91 * time.Second, "PRESENTATION_EXPIRED", "presented 91 s ago"},
		{30 * time.Second, "VALID", "presented 30 s in the future (clock skew edge, inclusive)"},
		{31 * time.Second, "PRESENTATION_EXPIRED", "presented 31 s in the future"},
		{-5 * time.Minute, "PRESENTATION_EXPIRED", "presented 5 minutes ago"},
	} {
		k.qrCase(f, mustText(s.dl.present(now.Add(c.d))), c.want, c.desc, "QR-32", "VERIFY-10")
	}
	other := seedKey("other-device")
	t, err := s.dl.Holding.Present(detSigner{other}, now.Add(-3*time.Second))
	if err != nil {
		return err
	}
	k.qrCase(f, t, "HOLDER_BINDING_FAILED", "presentation signed by another device key", "QR-29", "VERIFY-10")
	stripped, err := rewrite(mustText(s.dl.present(now.Add(-6*time.Second))), nil, nil, func(p *parts) {
		p.Body[4] = cborOf(0)
		p.Device = nil
	})
	if err != nil {
		return err
	}
	k.qrCase(f, stripped, "HOLDER_BINDING_FAILED", "bound core shown as a static token (device signature stripped)", "QR-29", "QR-30")
	static := mustText(s.bl.static())
	sup, err := rewrite(static, nil, detSigner{other}, func(p *parts) { p.Body[4] = cborOf(uint64(now.Unix())) })
	if err != nil {
		return err
	}
	k.qrCase(f, sup, "HOLDER_BINDING_FAILED", "a device signature on a core without key 8", "QR-29")
	offCurve, err := rewrite(static, w.Market.signer(), detSigner{other}, func(p *parts) {
		pt := append([]byte{0x02}, bytes.Repeat([]byte{0xff}, 32)...)
		p.Core[8] = cborOf(pt)
		p.Body[4] = cborOf(uint64(now.Unix()))
	})
	if err != nil {
		return err
	}
	k.qrCase(f, offCurve, "MALFORMED", "key 8 not a point of the curve", "QR-29", "GM-04", "QR-09")
	if err := w.Lists["gab-1"].List.Set(9, statuslist.Revoked); err != nil {
		return err
	}
	rdl, err := w.issueLicence(w.Police, "drivers-license", "gab-1", 9, true, nil)
	if err != nil {
		return err
	}
	k.qrCase(f, mustText(rdl.present(now.Add(-2*time.Second))), "REVOKED", "a revoked bound driving licence", "STATUS-18", "VERIFY-14")
	mc, err := w.issueLicence(w.Civil, "marriage-certificate", "mz-stale", 1, true, nil)
	if err != nil {
		return err
	}
	k.qrCase(f, mustText(mc.present(now.Add(-time.Second))), "VALID", "a marriage certificate (168 h, warn) on a list 10 days old: accepted with a warning", "STATUS-19", "VERIFY-15")
	return nil
}

func (k *kit) qrDisclosures(s *qrState) error {
	w := k.w
	const f = "disclosures.json"
	k.qrCase(f, mustText(s.bl.static("domicile", qr.DiscloseCredential)), "VALID_STATIC", "a static token disclosing the address and the credential digest (leaf 0)",
		"QR-19", "QR-20", "QR-21", "QR-22", "VERIFY-09", "CRED-19", "QR-31")
	k.qrCase(f, mustText(s.dl.present(w.Now.Add(-4*time.Second), "address")), "VALID", "a presentation disclosing the address", "QR-21", "VERIFY-09")
	tampered := *s.bl.Holding
	tampered.Optional = append([]qr.OptionalField(nil), s.bl.Holding.Optional...)
	for i := range tampered.Optional {
		if tampered.Optional[i].Key == "domicile" {
			tampered.Optional[i].Value = "上海市黄浦区人民大道200号"
		}
	}
	t, err := tampered.Static("domicile")
	if err != nil {
		return err
	}
	k.qrCase(f, t, "BAD_DISCLOSURE", "a disclosed address changed", "QR-21", "QR-19", "VERIFY-09")
	good := mustText(s.bl.static("domicile"))
	type disc = []cbor.RawMessage
	editDisc := func(edit func(d []disc) []disc) string {
		t, err := rewrite(good, nil, nil, func(p *parts) {
			var ds []disc
			_ = cbor.Unmarshal(p.Body[3], &ds)
			p.Body[3] = cborOf(edit(ds))
		})
		if err != nil {
			panic(err)
		}
		return t
	}
	k.qrCase(f, editDisc(func(d []disc) []disc { return append(d, d[0]) }), "BAD_DISCLOSURE", "the same leaf disclosed twice", "QR-21")
	k.qrCase(f, editDisc(func(d []disc) []disc { d[0][3] = cborOf(200); return d }), "MALFORMED", "disclosure leaf index past the leaf count", "QR-11")
	k.qrCase(f, editDisc(func(d []disc) []disc { d[0][1] = cborOf(make([]byte, 15)); return d }), "MALFORMED", "disclosure salt of 15 bytes", "QR-11")
	k.qrCase(f, editDisc(func(d []disc) []disc { d[0][0] = cborOf(0); return d }), "MALFORMED", "field 0 disclosed with a 16-byte salt", "QR-11")
	k.qrCase(f, editDisc(func(d []disc) []disc { d[0][0] = cborOf(40); return d }), "BAD_DISCLOSURE", "field number changed to 40 without a matching commitment", "QR-21")
	k.qrCase(f, editDisc(func(d []disc) []disc {
		var proof [][]byte
		_ = cbor.Unmarshal(d[0][4], &proof)
		proof[0][0] ^= 1
		d[0][4] = cborOf(proof)
		return d
	}), "BAD_DISCLOSURE", "disclosure proof with one bit flipped", "QR-21", "QR-19")
	return k.qrRecommitted(s)
}

// leaf is one committed value of a QR core.
type leaf struct {
	field uint16
	salt  []byte
	value string
}

// recommit rebuilds the commitment tree of a static token from leaf 0
// (the credential digest) and leaves, discloses the leaves at the
// positions in disclose, and re-signs the core with key: an issuer that
// committed what it should not have.
func recommit(text string, key *agency, credHex string, leaves []leaf, disclose []int) (string, error) {
	p, err := split(text)
	if err != nil {
		return "", err
	}
	all := append([]leaf{{0, []byte{}, credHex}}, leaves...)
	tree := tlog.NewMemTree(tlog.SM3)
	for _, l := range all {
		tree.AppendEntry(cborOf([]any{l.field, l.salt, l.value}))
	}
	root := tree.Root()
	p.Core[10] = cborOf(root[:16])
	p.Core[11] = cborOf(len(all))
	var discs []any
	for _, i := range disclose {
		hs, err := tree.InclusionProof(uint64(i), uint64(len(all)))
		if err != nil {
			return "", err
		}
		proof := make([][]byte, len(hs))
		for j := range hs {
			proof[j] = hs[j][:]
		}
		l := all[i]
		discs = append(discs, []any{l.field, l.salt, l.value, i, proof})
	}
	p.Body[3] = cborOf(discs)
	if err := p.signCore(key.signer()); err != nil {
		return "", err
	}
	return p.text(nil)
}

func (k *kit) qrRecommitted(s *qrState) error {
	const f = "disclosures.json"
	good := mustText(s.bl.static())
	salt := func(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }
	for _, c := range []struct {
		desc, want string
		rules      []string
		leaves     []leaf
		disclose   []int
	}{
		{"an issuer-made commitment tree (one optional field), disclosed: sanity check of the tree rules", "VALID_STATIC", []string{"QR-19", "QR-20", "QR-21"},
			[]leaf{{8, salt(1), "上海市浦东新区张江路88号"}}, []int{1}},
		{"leaf 0 disclosed (field 0, empty salt, the credential digest)", "VALID_STATIC", []string{"QR-20", "QR-22", "CRED-19"},
			[]leaf{{8, salt(1), "上海市浦东新区张江路88号"}}, []int{0}},
		{"field 0 committed and disclosed at leaf 1", "BAD_DISCLOSURE", []string{"QR-22"},
			[]leaf{{0, []byte{}, "00"}}, []int{1}},
		{"field 40 (not a field of the class) committed and disclosed", "MALFORMED", []string{"QR-22"},
			[]leaf{{40, salt(2), "x"}}, []int{1}},
		{"field 4 (legal_rep, always shown, not optional) committed and disclosed", "BAD_DISCLOSURE", []string{"QR-22"},
			[]leaf{{4, salt(3), "张伟"}}, []int{1}},
		{"a committed and disclosed address failing its validator (leading white space)", "MALFORMED", []string{"QR-22", "CAT-20", "VERIFY-09"},
			[]leaf{{8, salt(4), " 上海市"}}, []int{1}},
	} {
		t, err := recommit(good, k.w.Market, s.bl.Holding.Credential, c.leaves, c.disclose)
		if err != nil {
			return err
		}
		k.qrCase(f, t, c.want, c.desc, c.rules...)
	}
	return nil
}

// qrCopies shows the QR of a revoked original and of its holder copy:
// the same identifier in key 1, judged by each core's own status
// position (CRED-11).
func (k *kit) qrCopies() error {
	orig, cp := k.copyQR[0], k.copyQR[1]
	k.qrCase("qr-static.json", mustText(orig.static()), "REVOKED", "the static QR of a revoked original (gab-1 9)", "CRED-11", "QR-17")
	k.qrCase("qr-bound.json", mustText(cp.present(k.w.Now.Add(-2*time.Second))), "VALID",
		"a presentation of a holder copy of that original: same identifier, its own valid status position (gab-1 60)", "CRED-09", "CRED-11", "QR-17", "QR-31")
	return k.qrMore()
}

package conformance

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"strings"
	"time"

	"elicense/certs/statuslist"
	"elicense/internal/gm"
)

// statusInput is the input of a status vector (files.go documents it).
type statusInput struct {
	Op         string `json:"op"`
	List       string `json:"list"`
	Token      string `json:"token,omitempty"`
	Base       string `json:"base,omitempty"`
	Delta      []byte `json:"delta,omitempty"`
	Index      int    `json:"index,omitempty"`
	MinVersion uint64 `json:"min_version,omitempty"`
}

func init() { ctxSteps = append(ctxSteps, (*kit).statusVectors) }

func (k *kit) statusVectors(ctx *Context) error {
	w := k.w
	const f = "status.json"
	add := func(in statusInput, want, desc string, rules ...string) {
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	amr := ctx.Lists["amr-1"]
	add(statusInput{Op: "token", List: "amr-1", Token: amr}, "VALID", "the amr-1 list token of context.json (ver a microsecond clock value)",
		"STATUS-04", "STATUS-05", "STATUS-06", "STATUS-07", "STATUS-09", "TRUST-18")
	for _, c := range []struct {
		idx  int
		want string
	}{{0, "VALID"}, {2, "REVOKED"}, {3, "SUSPENDED"}, {4, "SUPERSEDED"}, {1023, "VALID"}, {1024, "STATUS_UNAVAILABLE"}} {
		add(statusInput{Op: "lookup", List: "amr-1", Token: amr, Index: c.idx}, c.want, "entry "+itoa(int64(c.idx))+" of amr-1",
			"STATUS-01", "STATUS-02", "STATUS-03")
	}
	add(statusInput{Op: "token", List: "gab-1", Token: amr}, "reject:statuslist.ErrWrongList", "the amr-1 token offered as gab-1 (sub is another URI)", "STATUS-08")
	add(statusInput{Op: "token", List: "amr-1", Token: amr, MinVersion: w.Lists["amr-1"].Version + 1}, "reject:statuslist.ErrRollback",
		"a version below the one already held", "STATUS-09", "STATUS-14")
	// Versions above 2^53 compared exactly (STATUS-10).
	const big = uint64(1)<<53 + 1
	saved := w.Lists["amr-1"].Version
	w.Lists["amr-1"].Version = big
	tok, err := w.signList("amr-1")
	w.Lists["amr-1"].Version = saved
	if err != nil {
		return err
	}
	add(statusInput{Op: "token", List: "amr-1", Token: tok, MinVersion: big}, "VALID", "ver 2^53+1 held as 2^53+1: equal, accepted", "STATUS-10", "STATUS-09")
	add(statusInput{Op: "token", List: "amr-1", Token: tok, MinVersion: big + 1}, "reject:statuslist.ErrRollback",
		"ver 2^53+1 when 2^53+2 is held (a float64 reader sees them equal)", "STATUS-10")
	ledger := detSigner{w.LedgerKey}
	for _, c := range []struct {
		desc, want string
		rules      []string
		sign       bool
		edit       func(h, p string) (string, string)
	}{
		{"payload changed, not re-signed", "reject:statuslist.ErrBadSignature", []string{"STATUS-07"}, false,
			func(h, p string) (string, string) { return h, shiftNumber(p, `"ttl":`, 1) }},
		{"typ statuslist+jwt changed to JWT", "reject:statuslist.ErrMalformed", []string{"STATUS-04"}, true,
			func(h, p string) (string, string) { return replaceOnce(h, `"statuslist+jwt"`, `"JWT"`), p }},
		{"kid the bundle does not know", "reject:statuslist.ErrUnknownKey", []string{"TRUST-18", "STATUS-07"}, true,
			func(h, p string) (string, string) { return replaceOnce(h, w.ledgerKID(), "0000000000000000"), p }},
		{"bits 1", "reject:statuslist.ErrMalformed", []string{"STATUS-05"}, true,
			func(h, p string) (string, string) { return h, replaceOnce(p, `"bits":2`, `"bits":1`) }},
		{"ver 0", "reject:statuslist.ErrMalformed", []string{"STATUS-05"}, true,
			func(h, p string) (string, string) { s, e := numberAt(p, `"ver":`); return h, p[:s] + "0" + p[e:] }},
		{"ttl 0", "reject:statuslist.ErrMalformed", []string{"STATUS-05"}, true,
			func(h, p string) (string, string) { s, e := numberAt(p, `"ttl":`); return h, p[:s] + "0" + p[e:] }},
		{"exp equal to iat", "reject:statuslist.ErrMalformed", []string{"STATUS-05"}, true, func(h, p string) (string, string) {
			s, e := numberAt(p, `"iat":`)
			iat := p[s:e]
			s, e = numberAt(p, `"exp":`)
			return h, p[:s] + iat + p[e:]
		}},
		{"lst not ZLIB", "reject:statuslist.ErrMalformed", []string{"STATUS-06"}, true, func(h, p string) (string, string) {
			i := strings.Index(p, `"lst":"`) + len(`"lst":"`)
			j := strings.Index(p[i:], `"`)
			return h, p[:i] + b64.EncodeToString([]byte("not zlib")) + p[i+j:]
		}},
		{"lst with base64 padding", "reject:statuslist.ErrMalformed", []string{"STATUS-06", "GM-07"}, true, func(h, p string) (string, string) {
			i := strings.Index(p, `"lst":"`) + len(`"lst":"`)
			j := strings.Index(p[i:], `"`)
			return h, p[:i+j] + "==" + p[i+j:]
		}},
		{"lst whose last base64url character has a non-zero unused bit", "reject:statuslist.ErrMalformed", []string{"STATUS-06", "GM-07"}, true, func(h, p string) (string, string) {
			i := strings.Index(p, `"lst":"`) + len(`"lst":"`)
			j := i + strings.Index(p[i:], `"`)
			lst := unusedBitsLst(p[i:j])
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, lst[len(lst)-1])
			return h, p[:i] + lst[:len(lst)-1] + string(alphabet[last+1]) + p[j:]
		}},
		{"the claim ver repeated (the first a lower version)", "reject:statuslist.ErrMalformed", []string{"GM-08", "STATUS-05"}, true,
			func(h, p string) (string, string) { return h, replaceOnce(p, `"ver":`, `"ver":1,"ver":`) }},
		{"a member Ver beside ver: names are case-sensitive, so Ver is an unknown claim, ignored", "VALID", []string{"GM-08", "STATUS-05"}, true,
			func(h, p string) (string, string) { return h, replaceOnce(p, `{`, `{"Ver":1,`) }},
		{"unknown claims at the top level and inside status_list: ignored", "VALID", []string{"STATUS-05"}, true, func(h, p string) (string, string) {
			p = replaceOnce(p, `{`, `{"x-note":"ignored",`)
			return h, replaceOnce(p, `"status_list":{`, `"status_list":{"aggregation_uri":"https://status.example.gov.cn/all",`)
		}},
	} {
		signer := ledger
		var t string
		var err error
		if c.sign {
			t, err = resignJWS(amr, signer, c.edit)
		} else {
			t, err = resignJWS(amr, nil, c.edit)
		}
		if err != nil {
			return err
		}
		add(statusInput{Op: "token", List: "amr-1", Token: t}, c.want, c.desc, c.rules...)
	}
	// A list signed by a key other than the bundle's signer_kid key (an
	// agency key, under the ledger key's ID).
	forged, err := statuslist.Sign(w.Lists["amr-1"].List, w.listMeta("amr-1"), w.Market.signer(), w.ledgerKID())
	if err != nil {
		return err
	}
	add(statusInput{Op: "token", List: "amr-1", Token: forged}, "reject:statuslist.ErrBadSignature", "signed by the agency key under the ledger key's ID", "STATUS-07", "TRUST-18")
	expired := w.listMeta("amr-1")
	expired.IssuedAt, expired.ExpiresAt = w.Now.Add(-48*time.Hour), w.Now.Add(-24*time.Hour)
	et, err := statuslist.Sign(w.Lists["amr-1"].List, expired, ledger, w.ledgerKID())
	if err != nil {
		return err
	}
	add(statusInput{Op: "token", List: "amr-1", Token: et}, "reject:statuslist.ErrExpired", "exp a day before now", "STATUS-08", "STATUS-19")
	// exp read as RFC 7519 reads it: expired from that instant on.
	edge := w.listMeta("amr-1")
	edge.IssuedAt, edge.ExpiresAt = w.Now.Add(-time.Hour), w.Now
	xt, err := statuslist.Sign(w.Lists["amr-1"].List, edge, ledger, w.ledgerKID())
	if err != nil {
		return err
	}
	add(statusInput{Op: "token", List: "amr-1", Token: xt}, "reject:statuslist.ErrExpired", "exp equal to now: expired at that instant", "STATUS-08")
	k.add(f, Vector{Rules: []string{"STATUS-08"}, Description: "the same token one second before its exp", Now: w.Now.Add(-time.Second),
		Input: statusInput{Op: "token", List: "amr-1", Token: xt}, Expected: "VALID"})
	return k.deltaVectors(ctx)
}

func (k *kit) deltaVectors(ctx *Context) error {
	w := k.w
	const f = "status.json"
	add := func(in statusInput, want, desc string, rules ...string) {
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
	}
	base := w.Lists["amr-1"].List
	next := base.Clone()
	for _, c := range []struct {
		i  int
		st statuslist.Status
	}{{2, statuslist.Valid}, {10, statuslist.Revoked}, {500, statuslist.Suspended}, {1023, statuslist.Superseded}} {
		if err := next.Set(c.i, c.st); err != nil {
			return err
		}
	}
	meta := w.listMeta("amr-1")
	meta.Version++
	meta.IssuedAt = meta.IssuedAt.Add(time.Minute)
	d, err := statuslist.NewDelta(base, w.Lists["amr-1"].Version, next, meta)
	if err != nil {
		return err
	}
	ledger := detSigner{w.LedgerKey}
	data, err := statuslist.SignDelta(d, ledger, w.ledgerKID())
	if err != nil {
		return err
	}
	amr := ctx.Lists["amr-1"]
	add(statusInput{Op: "delta", List: "amr-1", Base: amr, Delta: data}, "VALID", "a delta from the context's amr-1 to the next version (4 changes)",
		"STATUS-11", "STATUS-12", "STATUS-13", "STATUS-14")
	bad := append([]byte(nil), data...)
	bad[len(bad)-1] ^= 1
	add(statusInput{Op: "delta", List: "amr-1", Base: amr, Delta: bad}, "reject:statuslist.ErrBadSignature", "delta signature with one bit flipped", "STATUS-13", "STATUS-11")
	body := append(append([]byte(nil), data[:len(data)-64]...), 0)
	sig, err := gm.SignRS(ledger, append([]byte("elicense/statuslist/delta/v1\x00"), body...))
	if err != nil {
		return err
	}
	add(statusInput{Op: "delta", List: "amr-1", Base: amr, Delta: append(body, sig...)}, "reject:statuslist.ErrMalformed",
		"a byte after the change stream, signed", "STATUS-12", "STATUS-11")
	add(statusInput{Op: "delta", List: "amr-1", Base: amr, Delta: data[:10]}, "reject:statuslist.ErrMalformed", "delta truncated to 10 bytes", "STATUS-11")
	// The same change applied to another base version.
	other := w.listMeta("amr-1")
	other.Version += 5
	ob, err := statuslist.Sign(base, other, ledger, w.ledgerKID())
	if err != nil {
		return err
	}
	add(statusInput{Op: "delta", List: "amr-1", Base: ob, Delta: data}, "reject:statuslist.ErrWrongBase", "a delta applied to a base of another version", "STATUS-14")
	return k.deltaEdits(ctx, d)
}

// deltaEdits are deltas that fail exactly one check of STATUS-12 …
// STATUS-14: each is d changed in one respect, signed.
func (k *kit) deltaEdits(ctx *Context, d *statuslist.Delta) error {
	w := k.w
	const f = "status.json"
	amr := ctx.Lists["amr-1"]
	ledger := detSigner{w.LedgerKey}
	add := func(dd *statuslist.Delta, in statusInput, signer detSigner, kid, want, desc string, rules ...string) error {
		data, err := statuslist.SignDelta(dd, signer, kid)
		if err != nil {
			return err
		}
		in.Op, in.List, in.Base, in.Delta = "delta", "amr-1", amr, data
		k.add(f, Vector{Rules: rules, Description: desc, Input: in, Expected: want})
		return nil
	}
	edit := func(fn func(*statuslist.Delta)) *statuslist.Delta {
		c := *d
		c.Changes = append([]statuslist.Change(nil), d.Changes...)
		fn(&c)
		return &c
	}
	// The held version is the reader's high-water mark, not the base's.
	if err := add(d, statusInput{MinVersion: d.Version + 1}, ledger, w.ledgerKID(), "reject:statuslist.ErrRollback",
		"a good delta, but a later version of the list has been accepted before (min_version = B + 1)", "STATUS-13"); err != nil {
		return err
	}
	if err := add(d, statusInput{}, detSigner{w.Market.Key}, w.Market.KID, "reject:statuslist.ErrUnknownKey",
		"a delta signed by the list's agency key under its own key ID: only the list's signer_kid key signs deltas", "STATUS-13", "STATUS-07"); err != nil {
		return err
	}
	other := edit(func(c *statuslist.Delta) { c.URI = w.Lists["gab-1"].URI })
	if err := add(other, statusInput{}, ledger, w.ledgerKID(), "reject:statuslist.ErrWrongList",
		"a delta for the gab-1 list offered as amr-1", "STATUS-13"); err != nil {
		return err
	}
	// exp is the first instant the delta is expired (RFC 7519).
	atExp := edit(func(c *statuslist.Delta) { c.IssuedAt, c.ExpiresAt = w.Now.Add(-time.Hour), w.Now })
	if err := add(atExp, statusInput{}, ledger, w.ledgerKID(), "reject:statuslist.ErrExpired",
		"a delta whose exp is now: expired at that instant", "STATUS-13", "STATUS-08"); err != nil {
		return err
	}
	wrongB := edit(func(c *statuslist.Delta) { c.Digest[0] ^= 1 })
	if err := add(wrongB, statusInput{}, ledger, w.ledgerKID(), "reject:statuslist.ErrWrongBase",
		"a delta whose digest of B does not match the list its changes make", "STATUS-14"); err != nil {
		return err
	}
	held, err := w.Lists["amr-1"].List.Get(1)
	if err != nil {
		return err
	}
	noop := edit(func(c *statuslist.Delta) {
		c.Changes = append([]statuslist.Change{{Index: 1, Status: held}}, c.Changes...)
	})
	if err := add(noop, statusInput{}, ledger, w.ledgerKID(), "VALID",
		"a delta that also lists entry 1 with the value it already has: applied, the digest of B decides", "STATUS-12"); err != nil {
		return err
	}
	return k.deltaStreams(amr, d)
}

// deltaStreams are deltas whose change stream breaks STATUS-12, written
// bit by bit and signed.
func (k *kit) deltaStreams(amr string, d *statuslist.Delta) error {
	w := k.w
	add := func(body []byte, want, desc string, rules ...string) error {
		sig, err := gm.SignRS(detSigner{w.LedgerKey}, append([]byte("elicense/statuslist/delta/v1\x00"), body...))
		if err != nil {
			return err
		}
		k.add("status.json", Vector{Rules: rules, Description: desc, Expected: want,
			Input: statusInput{Op: "delta", List: "amr-1", Base: amr, Delta: append(body, sig...)}})
		return nil
	}
	// One change, entry 10 revoked (gap 10, k 2: 1 1 0, 1 0, status 01:
	// 7 bits), then the padding bit set.
	one := *d
	one.Changes = []statuslist.Change{{Index: 10, Status: statuslist.Revoked}}
	next := w.Lists["amr-1"].List.Clone()
	if err := next.Set(10, statuslist.Revoked); err != nil {
		return err
	}
	one.Digest = next.Digest()
	pad := deltaBody(&one, w.ledgerKID(), 2, riceStream(2, one.Changes, 0x80))
	if err := add(pad, "reject:statuslist.ErrMalformed", "a change stream whose last byte has a padding bit set", "STATUS-12"); err != nil {
		return err
	}
	past := one
	past.Changes = []statuslist.Change{{Index: d.Entries, Status: statuslist.Revoked}}
	body := deltaBody(&past, w.ledgerKID(), 10, riceStream(10, past.Changes, 0))
	if err := add(body, "reject:statuslist.ErrMalformed", "a change to entry 1024 of a list of 1024 entries (index = entries)", "STATUS-12"); err != nil {
		return err
	}
	// The reference bound (STATUS-06): 64 Mi entries.
	huge := one
	huge.Entries = 64<<20 + 4
	body = deltaBody(&huge, w.ledgerKID(), 2, riceStream(2, huge.Changes, 0))
	return add(body, "reject:statuslist.ErrTooLarge", "a delta for a list of 64 Mi + 4 entries, above the reader's bound", "STATUS-13", "STATUS-06")
}

// deltaBody writes the delta d up to its signature (status.md STATUS-11)
// with the Rice parameter k and the change stream given.
func deltaBody(d *statuslist.Delta, kid string, k byte, stream []byte) []byte {
	b := []byte("ELSD\x01\x02")
	b = append(b, byte(len(kid)))
	b = append(b, kid...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(d.URI)))
	b = append(b, d.URI...)
	b = binary.BigEndian.AppendUint64(b, d.BaseVersion)
	b = binary.BigEndian.AppendUint64(b, d.Version)
	b = append(b, d.BaseDigest[:]...)
	b = append(b, d.Digest[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(d.Entries))
	b = binary.BigEndian.AppendUint64(b, uint64(d.IssuedAt.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(d.ExpiresAt.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(d.TTL/time.Second))
	b = binary.BigEndian.AppendUint32(b, uint32(len(d.Changes)))
	b = append(b, k)
	return append(b, stream...)
}

// riceStream Rice-codes changes with parameter k (STATUS-12), least
// significant bit first, and ORs pad into the last byte.
func riceStream(k uint, changes []statuslist.Change, pad byte) []byte {
	var out []byte
	n := 0
	put := func(bit uint64) {
		if n%8 == 0 {
			out = append(out, 0)
		}
		out[len(out)-1] |= byte(bit&1) << (n % 8)
		n++
	}
	prev := -1
	for _, c := range changes {
		g := uint64(c.Index - prev - 1)
		prev = c.Index
		for q := g >> k; q > 0; q-- {
			put(1)
		}
		put(0)
		for i := range k {
			put(g >> i)
		}
		put(uint64(c.Status))
		put(uint64(c.Status) >> 1)
	}
	out[len(out)-1] |= pad
	return out
}

// unusedBitsLst returns lst, or the same list compressed at another level,
// such that its last base64url character has unused bits (the length of
// the ZLIB stream is not a multiple of 3).
func unusedBitsLst(lst string) string {
	z, err := b64.DecodeString(lst)
	if err != nil {
		panic(err) // the generator's own data
	}
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		panic(err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		panic(err)
	}
	for level := zlib.NoCompression; len(z)%3 == 0; level++ {
		var buf bytes.Buffer
		zw, err := zlib.NewWriterLevel(&buf, level)
		if err != nil {
			panic("conformance: no ZLIB level gives unused bits")
		}
		zw.Write(raw)
		zw.Close()
		z = buf.Bytes()
	}
	return b64.EncodeToString(z)
}

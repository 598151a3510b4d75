package conformance

import (
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
	return nil
}

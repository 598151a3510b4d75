package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"elicense/certs/jws"
	"elicense/certs/qr"
	"elicense/internal/chinatime"
	"elicense/verifier/scan"
)

var cmdInspect = &command{
	name:    "inspect",
	summary: "show what a QR text, photo or credential claims, without judging it",
	common:  withJSON,
	usage: `
Usage: elicense-verify inspect [--json] TEXT | - | --image FILE

Decodes a QR text (EL1: or EL2:), the QR in a photo (--image), or a full
credential (a compact JWS) and prints what it claims: for a QR the
identifier parts, holder, validity, status reference, signing and
presentation times, issuer key ID and the fields it shows; for a
credential its header and claims. Nothing is verified and nothing is
recorded: use check for a verdict. Useful to see why a code is refused,
or what a code would disclose before showing it.

Exit status: 0 when the input decodes, 2 when it does not.

Examples:
  elicense-verify inspect 'EL2:…'
  elicense-verify inspect --image photo.jpg
  elicense-verify inspect --json - < licence.jws | jq .claims.lic
`,
	flags: func(fs *flag.FlagSet, o *options) {
		fs.String("image", "", "decode the QR in this PNG or JPEG `file`")
	},
	run: func(e env, o *options, args []string) int {
		img := flagValue(o, "image")
		var text string
		switch {
		case img != "" && len(args) == 0:
			f, err := os.Open(img)
			if err != nil {
				return fail(e, err)
			}
			defer f.Close()
			if text, err = scan.DecodeImage(f); err != nil {
				return fail(e, err)
			}
		case img == "" && len(args) == 1 && args[0] == "-":
			data, err := io.ReadAll(io.LimitReader(e.stdin, jws.MaxLen))
			if err != nil {
				return fail(e, err)
			}
			text = string(data)
		case img == "" && len(args) == 1:
			text = args[0]
		default:
			return usageError(e, "inspect", "give one QR text or credential, - for stdin, or --image FILE")
		}
		return inspect(e, o, strings.TrimSpace(text))
	},
}

// inspection is inspect's JSON output: one object, kind "qr" or
// "credential".
type inspection struct {
	Kind   string          `json:"kind"`
	QR     *qr.Claims      `json:"qr,omitempty"`
	Header *jws.Header     `json:"header,omitempty"`
	Claims json.RawMessage `json:"claims,omitempty"`
}

func inspect(e env, o *options, text string) int {
	var out inspection
	if strings.HasPrefix(text, "EL") {
		tok, err := qr.Decode(text)
		if err != nil {
			return fail(e, fmt.Errorf("not a readable QR text: %w", err))
		}
		c := tok.Claims(nil)
		out = inspection{Kind: "qr", QR: &c}
	} else {
		t, err := jws.Parse(text, jws.Expect{Typ: "elicense+jwt", RequireKid: true})
		if err != nil {
			return fail(e, fmt.Errorf("neither a QR text (EL1:/EL2:) nor a credential: %w", err))
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, t.Payload, "  ", "  "); err != nil {
			return fail(e, fmt.Errorf("the credential's claims are not JSON: %w", err))
		}
		out = inspection{Kind: "credential", Header: &t.Header, Claims: t.Payload}
		if !o.json {
			fmt.Fprintf(e.stdout, "credential (not verified)\n  alg %s, typ %s, kid %s\n  claims: %s\n", t.Header.Alg, t.Header.Typ, t.Header.Kid, pretty.String())
			return exitOK
		}
	}
	if o.json {
		data, _ := json.Marshal(out)
		fmt.Fprintf(e.stdout, "%s\n", data)
		return exitOK
	}
	printClaims(e.stdout, out.QR)
	return exitOK
}

func printClaims(w io.Writer, c *qr.Claims) {
	kind := "static QR (paper)"
	if c.Bound {
		kind = "holder-bound presentation"
	}
	day := chinatime.Date
	when := func(t time.Time) string { return t.In(chinatime.Zone).Format("2006-01-02 15:04:05 UTC+8") }
	until := "长期"
	if !c.ValidUntil.IsZero() {
		until = day(c.ValidUntil)
	}
	class := c.TypeCode
	if c.ClassName != "" {
		class = fmt.Sprintf("%s (%s, type code %s)", c.ClassName, c.Class, c.TypeCode)
	}
	fmt.Fprintf(w, "EL%d %s (not verified)\n", c.Version, kind)
	fmt.Fprintf(w, "  class: %s\n  identifier: serial %s, version %03d (issuer code and check character come from the signing key's agency)\n", class, c.Serial, c.IDVersion)
	fmt.Fprintf(w, "  holder: %s (%s)\n  valid: %s 至 %s\n  status: list %s, index %d\n  issuer key: %s\n", c.HolderName, c.HolderCode, day(c.ValidFrom), until, c.StatusList, c.StatusIndex, c.KeyID)
	if !c.SignedAt.IsZero() {
		fmt.Fprintf(w, "  signed: %s\n", when(c.SignedAt))
	}
	if !c.PresentedAt.IsZero() {
		fmt.Fprintf(w, "  presented: %s\n  device key: %s\n", when(c.PresentedAt), c.DeviceKey)
	}
	for _, f := range c.Fields {
		label := f.Label
		if label == "" {
			label = fmt.Sprintf("field %d", f.Number)
		}
		shown := "always shown"
		if f.Disclosed {
			shown = "disclosed"
		}
		fmt.Fprintf(w, "  %s: %s  (%s)\n", label, f.Value, shown)
	}
	if c.Credential != "" {
		fmt.Fprintf(w, "  credential digest (SM3 of the JWS): %s\n", c.Credential)
	}
	fmt.Fprintf(w, "  committed values: %d; presentation digest: %s\n", c.Leaves, c.Presentation)
}

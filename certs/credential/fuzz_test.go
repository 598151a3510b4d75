package credential

import (
	"errors"
	"strings"
	"testing"
)

// FuzzVerify: any string is either a valid credential or an *Error with a
// reason; nothing panics.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	tok := fx.sign(f, fx.license(f, businessFields()))
	parts := strings.Split(tok, ".")
	crit := resignHeader(f, tok, fx.key, `{"alg":"SM2SM3","crit":["b64"],"b64":false,"kid":"0011223344556677","typ":"elicense+jwt"}`)
	for _, s := range []string{tok, crit, "", "..", "a.b.c", parts[0] + "." + parts[1] + ".", parts[0] + ".e30." + parts[2], tok + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Verify(s, VerifyOptions{Keys: fx.keys, Now: during})
		if err == nil {
			if l == nil {
				t.Fatal("nil licence without error")
			}
			return
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Reason == nil {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}

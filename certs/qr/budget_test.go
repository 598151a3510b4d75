package qr

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"elicense/certs/catalog"

	qrcode "github.com/skip2/go-qrcode"
)

// MaxQRVersion is the design budget: the default presentation of every
// class fits a version-15 QR code at error-correction level M.
const MaxQRVersion = 15

// samples loads the catalogue's sample record of every class.
func samples(t testing.TB) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile("../catalog/testdata/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Samples map[string]map[string]string `json:"samples"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.Samples
}

func TestDefaultPresentationFitsQRVersion15(t *testing.T) {
	all := samples(t)
	classes := catalog.Default().Classes()
	if len(classes) != 17 {
		t.Fatalf("%d classes, want 17", len(classes))
	}
	for _, cl := range classes {
		t.Run(cl.Key, func(t *testing.T) {
			fields, ok := all[cl.Key]
			if !ok {
				t.Fatalf("no sample for %s", cl.Key)
			}
			f := newFixture(t, cl.Key)
			text, err := f.holding(t, cl, fields, true).Present(f.device, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			code, err := qrcode.New(text, qrcode.Medium)
			if err != nil {
				t.Fatal(err)
			}
			payload, _, _ := decodeText(text)
			t.Logf("| %s %s | %d | %d | %d-M |", cl.NameZH, cl.Key, len(payload), len(text), code.VersionNumber)
			if code.VersionNumber > MaxQRVersion {
				t.Errorf("%s: default presentation needs QR version %d, budget is %d", cl.Key, code.VersionNumber, MaxQRVersion)
			}
		})
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSealVersion: seal names the signature's format, and a signature
// and seal whose headers say version 5 are reported as version 5 (read
// as the v4 structure they have), not as v4. The samples are ofdrw's (v4)
// and the same bytes with both version numbers changed to 5, which
// breaks the signature but not what it says it is.
func TestSealVersion(t *testing.T) {
	const samples = "../../certs/ses/testdata/ofdrw/"
	v4, err := os.ReadFile(samples + "doc-v4/SignedValue.dat")
	if err != nil {
		t.Fatal(err)
	}
	// TBS_Sign.version is the first INTEGER of the DER; the seal's
	// header version follows its IA5String "ES".
	v5 := bytes.Replace(v4, []byte{0x02, 0x01, 0x04}, []byte{0x02, 0x01, 0x05}, 1)
	v5 = bytes.Replace(v5, []byte{0x16, 0x02, 'E', 'S', 0x02, 0x01, 0x04}, []byte{0x16, 0x02, 'E', 'S', 0x02, 0x01, 0x05}, 1)
	if bytes.Equal(v4, v5) || len(v4) != len(v5) {
		t.Fatal("the v4 sample did not change")
	}
	dir := t.TempDir()
	sig5 := filepath.Join(dir, "v5.ses")
	if err := os.WriteFile(sig5, v5, 0o600); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	var o, e bytes.Buffer
	if code := run([]string{"trust", "add", "--store", store, "../../internal/gm/testdata/fixtures/gm-root.pem"}, env{stdin: strings.NewReader(""), stdout: &o, stderr: &e, now: time.Now}); code != exitOK {
		t.Fatalf("trust add: %s", e.String())
	}
	for _, tc := range []struct {
		name, sig, want, not string
	}{
		{"v4", samples + "doc-v4/SignedValue.dat", "SES_Signature GB/T 38540-2020 (v4)\n", "version 5"},
		{"v5", sig5, "SES_Signature version 5 (read as GB/T 38540-2020 v4)\n", "(v4)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o, e bytes.Buffer
			code := run([]string{"seal", "--as-of-signing", "--store", store, samples + "doc-v4/Signature.xml", tc.sig},
				env{stdin: strings.NewReader(""), stdout: &o, stderr: &e, now: time.Now})
			if code == exitOK || !strings.Contains(o.String(), tc.want) || strings.Contains(o.String(), tc.not) {
				t.Fatalf("exit %d, want a verdict other than VALID (the maker is not under the pinned root) naming %q\n%s%s", code, tc.want, o.String(), e.String())
			}
		})
	}
}

package testneed

import (
	"bytes"
	"os/exec"
	"testing"
)

// OpenSSL3 returns the path of the OpenSSL 3 command line, or ends the
// test through Missing when there is none.
func OpenSSL3(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		Missing(t, OpenSSL, "openssl not on PATH: the interop tests need the OpenSSL 3 command line (apt-get install -y openssl)")
		return ""
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !bytes.HasPrefix(out, []byte("OpenSSL 3.")) {
		Missing(t, OpenSSL, "the interop tests need OpenSSL 3, found "+string(bytes.TrimSpace(out)))
		return ""
	}
	return bin
}

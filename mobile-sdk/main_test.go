package mobilesdk

import (
	"os"
	"testing"

	"elicense/internal/issuertest"
)

func TestMain(m *testing.M) {
	keyIterations = 1000 // the real 100,000 only slow the tests down
	code := m.Run()
	issuertest.Cleanup()
	os.Exit(code)
}

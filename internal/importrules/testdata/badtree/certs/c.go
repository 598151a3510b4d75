package certs

import (
	_ "crypto/ecdsa"
	_ "github.com/emmansun/gmsm/sm2"

	_ "example.com/badtree/internal/gm"
	_ "example.com/badtree/internal/helpertest"
)

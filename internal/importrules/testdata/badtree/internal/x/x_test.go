package x_test

import (
	_ "example.com/badtree/cmd/tool"
	_ "example.com/badtree/internal/helpertest"
)

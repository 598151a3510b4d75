package tools

import _ "example.com/badtree/internal/gm"

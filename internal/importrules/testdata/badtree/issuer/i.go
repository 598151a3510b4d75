package issuer

import _ "example.com/badtree/certs"

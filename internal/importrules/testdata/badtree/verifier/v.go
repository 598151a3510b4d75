package verifier

import _ "example.com/badtree/issuer"

package skipped

import _ "example.com/badtree/issuer"

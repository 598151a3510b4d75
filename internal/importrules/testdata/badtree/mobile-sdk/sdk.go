package mobilesdk

import _ "example.com/badtree/verifier"

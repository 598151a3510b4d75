package consent

// Prefixes of request and grant ids; each is followed by 22 base64url
// characters, 128 random bits.
const (
	RequestIDPrefix = "r_"
	GrantIDPrefix   = "g_"
)

// NewRequestID returns a fresh request id.
func NewRequestID() string { return newID(RequestIDPrefix) }

// NewGrantID returns a fresh grant id.
func NewGrantID() string { return newID(GrantIDPrefix) }

// ValidRequestID reports whether s has the form of a request id.
func ValidRequestID(s string) bool { return validID(s, RequestIDPrefix) }

// ValidGrantID reports whether s has the form of a grant id.
func ValidGrantID(s string) bool { return validID(s, GrantIDPrefix) }

func newID(prefix string) string { return "" }

func validID(s, prefix string) bool { return false }

// Package issuertest is test support, not part of the wallet API. It
// starts the real issuer (the elicense binary, built once per test
// process) for the wallet's end-to-end tests and issues licences on it
// through its HTTP API. It talks to the issuer only over HTTP, as a
// wallet would, and imports nothing from issuer/.
package issuertest

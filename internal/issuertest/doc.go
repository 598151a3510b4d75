// Package issuertest is test support for end-to-end tests: it starts the
// real issuer (the elicense binary, built once per test process) on a
// free loopback port with a fresh data directory, and issues licences on
// it through its HTTP API. The wallet's, the web wallet's and the
// counter's tests use it. It talks to the issuer only over HTTP, as a
// wallet or a counter would, and imports nothing from issuer/.
package issuertest

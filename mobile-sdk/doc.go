// Package mobilesdk is the holder's wallet: device key, encrypted credential
// store and presentations (QR that refreshes, selective disclosure). It is
// bindable with gomobile and compiles to WebAssembly. It may import certs and
// internal, never issuer or verifier.
package mobilesdk

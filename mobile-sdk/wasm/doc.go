//go:build js && wasm

// Command wasm is the wallet SDK compiled to WebAssembly for a web
// wallet page. Build it with
//
//	GOOS=js GOARCH=wasm go build -o wallet.wasm ./mobile-sdk/wasm
//
// and load it with Go's wasm_exec.js. It defines a global object
// elicenseWallet with these functions (all asynchronous ones return a
// Promise; errors reject with an Error whose message is the SDK's):
//
//	open(passphrase)              → Promise<{deviceKeyID}>
//	claim(serverURL, code)        → Promise<licence>
//	list()                        → Promise<[licence]>
//	present(id, disclose, nowSec) → Promise<{text, presentedAt, refreshAt, expiresAt}>
//	remove(id)                    → Promise<undefined>
//	qrPNG(text, pixelsPerModule)  → Promise<Uint8Array>
//
// The wallet's files are kept in the page's localStorage under the prefix
// "elicense-wallet/", base64-encoded; they are the SDK's files, already
// encrypted (the device key under the passphrase, the licences with
// SM4-GCM), so the browser store only ever sees ciphertext.
package main

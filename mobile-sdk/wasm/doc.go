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
//	setClock(unixSeconds)         → undefined (0: the browser's clock again)
//	now()                         → the wallet's clock, Unix seconds
//	close()                       → undefined (forget the open wallet)
//
// present with nowSec 0 or absent uses the wallet's clock, which setClock
// shifts (for tests and demonstrations: the page then shows presentations
// as of that time).
//
// The wallet's files are kept in the page's IndexedDB (database
// "elicense-wallet", object store "files", one byte array per file); they
// are the SDK's files, already encrypted (the device key under the
// passphrase, the licences with SM4-GCM), so the browser store only ever
// sees ciphertext.
package main

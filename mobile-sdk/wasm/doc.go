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
//	pinRoot(serverURL)            → Promise<keyID> ("" when a root is already pinned)
//	refresh()                     → Promise<{refreshed, error}>
//	present(id, disclose, nowSec) → Promise<{text, presentedAt, refreshAt, expiresAt, status, statusAge, statusStale}>
//	remove(id)                    → Promise<undefined>
//	qrPNG(text, pixelsPerModule)  → Promise<Uint8Array>
//	setClock(unixSeconds)         → undefined (0: the browser's clock again)
//	now()                         → the wallet's clock, Unix seconds
//	close()                       → undefined (forget the open wallet)
//
// A licence object has the SDK Licence's fields in camelCase (id, class,
// name, issuerName, holderName, validFrom, validUntil, status, statusAt,
// refreshedAt, statusMaxAge, presentable, fields, optional, …). status is
// valid, revoked, suspended, superseded or unknown; refreshedAt (Unix
// seconds, 0: never) is when the wallet last read it from a verified
// status list; past statusMaxAge seconds it counts as old.
//
// pinRoot pins the root certificate published by the issuer at serverURL
// (trust on first use: the page and this module come from that issuer
// already), so that claim verifies what it receives and reads the status,
// and refresh can check status lists. refresh reads every licence's status
// again (RefreshAll) and resolves even when some failed, with the first
// failure in error (the page is often offline).
//
// present refuses a revoked, suspended or superseded licence: the Error's
// message is the holder's message in Chinese, with code
// "not_presentable", status, messageZh and messageEn.
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

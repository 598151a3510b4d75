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
//	openRequest(link)             → Promise<request> (授权用证: verified, see below)
//	consent(requestID, licenceID, fields) → Promise<grant> (fields: comma-separated keys, "" = all requested)
//	refuse(requestID, licenceID)  → Promise<undefined>
//	grants(licenceID)             → Promise<[grant]>
//	revokeGrant(licenceID, grantID) → Promise<undefined>
//	uses(licenceID)               → Promise<[use]> (用证记录, each with verified and problem)
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
// A request object has id, rpName, orgName, matterName, className,
// fields (JSON array of {key, name, purpose}), durationZh/En, useZh/En,
// expiresAt, state (pending, granted, refused, expired) and licences
// (comma-separated IDs of the licences that can answer it); consent and
// refuse take a request opened by openRequest in this page. A grant has
// id, rpName, matterName, fields, notAfter, use and state; a use has
// index, kind, time, rpName, matterName, fields, counter, verdict,
// verified and problem. The issuer's refusals reject with the holder's
// message in Chinese as the Error's message, the API's code as code, and
// messageZh and messageEn; other errors a holder meets (no licence can
// answer, a request or answer that does not verify, no network, a wrong
// passphrase) carry messageZh and messageEn beside the SDK's message
// (mobilesdk.ErrorMessage).
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

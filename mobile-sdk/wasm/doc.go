//go:build js && wasm

// Command wasm is the wallet SDK compiled to WebAssembly for a web
// wallet page. Build it with
//
//	GOOS=js GOARCH=wasm go build -o wallet.wasm ./mobile-sdk/wasm
//
// and load it with Go's wasm_exec.js. It defines a global object
// elicenseWallet with these functions (all asynchronous ones return a
// Promise; errors reject with an Error whose message is the holder's
// message in Chinese, see below):
//
//	open(passphrase)              → Promise<{deviceKeyID}>
//	claim(serverURL, code)        → Promise<licence>
//	list()                        → Promise<[licence]>
//	pinRoot(serverURL)            → Promise<keyID> ("" when a root is already pinned)
//	refresh()                     → Promise<{refreshed, error, code, messageZh, messageEn}>
//	present(id, disclose, nowSec) → Promise<{text, presentedAt, refreshAt, expiresAt, status, statusAge, statusStale}>
//	remove(id)                    → Promise<undefined>
//	fetchOFD(id)                  → Promise<Uint8Array> (the sealed OFD file, fetched and kept)
//	ofd(id)                       → Promise<Uint8Array|null> (the kept one, offline)
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
// Every function taking a licence ID (present, remove, consent, refuse,
// grants, revokeGrant, uses) accepts what mobilesdk.Wallet.Resolve does:
// the copy's id, its index in list (1, 2, …) or the licence identifier
// printed on the licence (copyOf).
//
// A licence object has the SDK Licence's fields in camelCase (id, copyOf,
// index, class, name, issuerName, holderName, validFrom, validUntil,
// status, statusAt, refreshedAt, statusMaxAge, presentable, fields,
// optional, …). status is
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
// Every rejection is an Error whose message is the holder's message in
// Chinese (mobilesdk.ErrorMessage: what happened and what to do), with
// code (mobilesdk.Reason: wrong_passphrase, claim_code_refused, network,
// not_presentable, …), messageZh and messageEn, and detail, the SDK's
// technical text, which a page keeps out of the holder's message (a
// collapsed 详情, the console). present's refusal of a revoked, suspended
// or superseded licence has code not_presentable and its status. refresh
// resolves even when some licences failed (the page is often offline),
// with the first failure's detail in error and its code, messageZh and
// messageEn.
//
// A request object has id, rpName, orgName, matterName, className,
// fields (JSON array of {key, name, purpose}), durationZh/En, useZh/En,
// expiresAt, state (pending, granted, refused, expired) and licences
// (comma-separated IDs of the licences that can answer it); consent and
// refuse take a request opened by openRequest in this page. A grant has
// id, rpName, matterName, fields, notAfter, use and state; a use has
// index, kind, time, rpName, matterName, fields, counter, verdict,
// verified and problem.
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

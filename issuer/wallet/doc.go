// Package wallet is the holder's web wallet, served by the issuer under
// /wallet/: a phone-sized page (Chinese, with an English toggle) over the
// wallet SDK compiled to WebAssembly (mobile-sdk/wasm). The holder opens
// the wallet with a passphrase (the device key is generated in the browser
// and kept encrypted in IndexedDB), claims a licence with its claim code
// (领证码), sees its face and shows a QR presentation that refreshes every
// 30 s with a visible countdown, ticking the optional fields to disclose.
//
// Each licence shows its status (有效, 已吊销, 已暂停, 已换发 or 状态未核实)
// and when it was last checked. The page reads the status from the
// issuer's signed status lists on opening the wallet, every five minutes
// while it is open and when the browser comes back online; a revoked,
// suspended or superseded licence shows the SDK's refusal (不能出示此证照,
// with the reason and the agency to contact) instead of a QR, even while
// it is on show. A status past the class's limit (24 h for most) or never
// checked is presented with a note saying so. The first claim pins the
// root certificate of the issuer (trust on first use: this page and its
// code come from that issuer already).
//
// 授权用证 (docs/consent.md): opened as /wallet/?request=r_… (the link a
// registered online service shows), the page verifies the request after
// unlocking and shows who asks, for which matter, each field with its
// purpose (ticked; the holder may untick), how long and how often; the
// holder approves the ticked fields or refuses, signed by the device
// key. A licence's page lists its 用证记录 (claim, grants, fetches,
// revocations, counter verifications), each ✓ when the SDK verified it
// against the ledger, and its grants, an active one with a revoke button.
//
// Each licence's face shows the identifier printed on it (证照标识), by
// which, or by its number in the list, the holder names it in the CLI
// wallet; the SDK behind the page takes the same names.
//
// Every error the page shows is in its language and says what to do: the
// SDK's rejections carry their reason and the holder's message in
// Chinese and English (mobile-sdk/wasm, mobilesdk.ErrorMessage), the
// page's own failures (no WebAssembly on the server, a module that does
// not load) have codes of its own, and anything else is an unexpected
// error with a generic message. The technical text is only ever under a
// collapsed 详情 and in the console (console.info). TestBrowserErrors
// drives a server without the module, a malformed and a used 领证码, and a
// wrong passphrase in both languages.
//
// The page's assets are embedded. The WebAssembly module is not
// committed (it is about 17 MB and changes with every SDK change); a
// release build embeds it by building it into assets/ first with
//
//	go generate ./issuer/wallet
//
// A binary without it (go run, or go build alone) can build it at start
// from its source tree with Build and serve it through New, which is what
// a development server does; until it is built, /wallet/wallet.wasm
// answers 503 and the page waits. A production binary without it answers
// 404 with a JSON message saying how to build it.
package wallet

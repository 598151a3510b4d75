// Package wallet is the holder's web wallet, served by the issuer under
// /wallet/: a phone-sized page (Chinese, with an English toggle) over the
// wallet SDK compiled to WebAssembly (mobile-sdk/wasm). The holder opens
// the wallet with a passphrase (the device key is generated in the browser
// and kept encrypted in IndexedDB), claims a licence with a claim code,
// sees its face and shows a QR presentation that refreshes every 30 s
// with a visible countdown, ticking the optional fields to disclose.
//
// The page's assets are embedded. The WebAssembly module is not
// committed (it is about 17 MB); build it into assets/ with
//
//	go generate ./issuer/wallet
//
// before building the issuer. Without it the page is served but
// /wallet/wallet.wasm answers 404 with a JSON message saying so.
package wallet

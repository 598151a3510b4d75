// Package console is the agency console: the web page an operator of a
// licensing agency (发证机构) uses to issue, find, suspend, reinstate and
// revoke licences, to register and manage the relying parties (用证方) that
// fetch licences with their holders' consent, and to watch the ledger
// checkpoint.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary
// (assets/index.html, app.js, app.css, icon.svg): no framework, no build
// step and no external URL, so it works on an offline machine. It talks to
// the issuer API (issuer/api) under /v1 with the operator's bearer token,
// which the operator pastes at login and the page keeps in sessionStorage
// (never in a URL). The JWT payload is decoded in the browser only to show
// who is logged in; the server checks every request.
//
// What the page does:
//
//   - Login: paste a token; the page shows subject, role, agency and expiry
//     and checks the token against the API before entering.
//   - Issue (签发): a class from GET /v1/classes; the form is generated
//     from the class's fields (date, datetime, enum, long text, text with
//     type hints; required fields marked); POST /v1/licences. A 422 puts
//     the server's message next to the field it names; success shows the
//     licence ID, ledger index, the one-time claim code (领证码) and the
//     static QR (GET /v1/licences/{id}/qr?format=svg, shown from a blob URL).
//   - Search (查询): by holder code, class and status, with paging; each
//     row opens the licence and can be suspended, reinstated or revoked
//     with a reason code after a confirmation.
//   - Relying parties (用证方; admins, and auditors read-only, as the API
//     allows; docs/consent.md §2): the list with each party's state
//     (正常, 暂停, 已注销); the detail with its organisation, the SM3
//     fingerprint of its key (computed in the page: the value the ledger's
//     rp-registered event commits to), callback, matters → classes →
//     fields with purposes, and the ledger index of its last change; a
//     form to register or replace one (id, name, organisation, the key as
//     pasted PEM or base64 DER or a chosen file, callback, matters whose
//     classes come from GET /v1/classes, each ticked field with its
//     purpose); suspend, resume and remove with a reason after a
//     confirmation. An API error is put in Chinese beside the field it
//     names, with the API's own message under it.
//   - Ledger (账本): the latest signed checkpoint (origin, tree size, root),
//     refreshed every few seconds and after every change.
//
// The interface is in Chinese with an English toggle.
//
// [Handler] serves the assets with Content-Type, Cache-Control: no-cache
// (with strong ETags, so revalidation is a 304), a strict
// Content-Security-Policy (default-src 'self'; images also from blob:)
// and X-Content-Type-Options: nosniff. The API mounts it at /console/
// (api.Options.Console).
//
// The tests drive the page in a real headless Chromium with chromedp and
// keep screenshots in testdata/ (console.png, console-search.png;
// console-party-form.png, console-party.png, console-parties.png).
package console

// Package console is the agency console: the web page an operator of a
// licensing agency (发证机构) uses for every operation the API offers its
// roles (operator, auditor, admin): issue, import from CSV, find, re-issue,
// suspend, reinstate and revoke licences; make claim codes and unbind lost
// phones; open a licence's face, files and ledger history with its proofs;
// make and revoke seals; mint and revoke clerks' tokens; register and
// manage the relying parties (用证方) that fetch licences with their
// holders' consent; and watch the ledger checkpoint.
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
//   - The licence detail also does the rest of a licence's life: the
//     agency's name (GET /v1/agencies) beside its code; re-issue (换发,
//     POST /v1/licences/{id}/reissue) from a form filled with the current
//     fields, sending the changed ones; a new claim code (领证码, shown
//     once); the device copies claimed, each with unbinding (解绑) for a
//     lost phone; the licence face (GET …/face, taken into the page with
//     its images as blob: URLs, since the page's policy forbids the face's
//     inline style and data: images) and its download as HTML; the sealed
//     OFD file and the static QR (PNG) downloaded; the ledger history (GET
//     …/history), whose every inclusion proof the page checks itself with
//     SM3 against the checkpoint the answer names (RFC 9162 §2.1.3.2), a
//     proof that does not lead to the root shown as failed whatever the
//     server says.
//   - Import (批量导入; operators and admins): a CSV of one class, parsed
//     and mapped as issuer/csvimport does (field keys or labels, 证照编号,
//     颁证日期), rows with a required field empty refused before sending,
//     the rest sent in batches of 100 with the CLI's idempotency key per
//     row (SM3 of Go's JSON of the row, so the page and `elicense import`
//     never issue one row twice between them); a progress bar with counts,
//     the rejected rows with line, field and reason, and two downloads: the
//     rejected-rows report (line, field, reason, as the CLI writes it) and
//     the results with each licence's claim code.
//   - Seals (电子印章): the agency's seals (GET /v1/seals) with their state;
//     making one (holder, type, years, the user's SM2 certificate as PEM,
//     base64 or a file) and downloading it; revoking one with a reason.
//     Admins and operators not limited to classes change them; others read.
//   - Tokens (访问令牌; admins): minting a token for a clerk (subject, role,
//     agency, classes, lifetime), shown once with a copy button and gone
//     from the page at logout; revoking by the list or by ID. The server
//     keeps no list of the tokens it mints (only of those revoked), so the
//     list is of the tokens minted in this browser, without the tokens
//     (localStorage).
//   - Ledger (账本): the latest signed checkpoint (origin, tree size, root),
//     refreshed every few seconds and after every change.
//
// An API error is said in the page's language, with what to do, and the
// API's own message under it.
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
// console-party-form.png, console-party.png, console-parties.png;
// console-detail.png, console-face.png, console-history.png,
// console-seals.png, console-import.png, console-tokens.png).
package console

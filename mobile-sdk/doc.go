// Package mobilesdk is the holder's wallet: device key, encrypted credential
// store and presentations (QR that refreshes, selective disclosure). It is
// bindable with gomobile and compiles to WebAssembly. It may import certs and
// internal, never issuer or verifier.
//
// # Using it
//
//	w, err := mobilesdk.Open(dir, pin)              // first call makes the SM2 device key
//	lic, err := w.Claim("https://issuer.example", code) // 领证码 from the agency
//	p, err := w.Present(lic.ID, "domicile", 0)       // QR text, signed now by the device
//	png, err := mobilesdk.QRPNG(p.Text, 4)           // show it; call Present again at p.RefreshAt
//
// List, Get, Credential and Delete manage the stored licences;
// SetTrustRoot pins the system's root certificate so that Claim also
// verifies the issuer's answer against its trust bundle.
//
// # Claiming
//
// Claim runs the issuer's claim protocol: POST /v1/claims/challenge, then
// POST /v1/claims with the code, the compressed device key and an SM2
// signature (r‖s) over "elicense/claim/v1" 0x00 ‖ challenge 0x00 ‖ code
// 0x00 ‖ device key. Before storing the answer it checks that the
// credential's cnf and the QR core's device key are this device's key and
// that the core commits to this credential (ErrForgedAnswer otherwise).
//
// # Presenting
//
// Present makes a holder-bound QR presentation (docs/formats.md §2): the
// issuer-signed core, the optional fields the holder chose to disclose
// (salted Merkle commitments: the others stay hidden), the time and the
// device signature. Phones refresh it every 30 s; counters accept it for
// 60 s (plus 30 s either way for the two clocks), so a screenshot soon stops
// working. Device-bound licences have no static (paper) QR: StaticQR
// refuses them. Presenting needs no network.
//
// # Status
//
// Refresh, RefreshAll (and Claim, when a trust root is pinned) read each
// licence's status from the issuer's status list, verified as a counter
// verifies it: the trust bundle under the pinned root, the list signed by
// the key the bundle names for it, belonging to the licence's agency, not
// expired and never older than the version read before. Licence.Status is
// valid, revoked, suspended, superseded, or unknown until it has been
// read; RefreshedAt says when. Present refuses a revoked, suspended or
// superseded licence with a *StatusError (errors.Is ErrNotPresentable and
// ErrRevoked, ErrSuspended or ErrSuperseded) whose Message tells the
// holder, in Chinese or English, why and whom to contact. An unknown
// status, or one older than the class's max_status_staleness (24 h for
// most classes: the age past which a counter stops relying on its own
// status data), does not stop a presentation, since the counter checks
// the status itself; Presentation.StatusStale and Licence.StatusNote say
// how old it is. Status lists carry no reason or date, so neither does
// the wallet. A web wallet served by the issuer may pin that issuer's root
// on first use (PinTrustRootFromServer); a phone app ships its root.
//
// # Online use (授权用证)
//
// A registered online service (a relying party, 用证方) asks for a
// licence's data for one service matter (事项) by showing a QR code or
// link; the holder approves chosen fields or refuses (docs/consent.md).
//
//	req, err := w.OpenRequest(link)              // https://issuer/wallet/?request=r_… or …/v1/requests/r_…
//	// show req.RPName, req.OrgName, req.MatterName, req.Field(i) (name, purpose),
//	// req.DurationText("zh"), req.UseText("zh"); req.Licences lists the licences that can answer
//	g, err := w.Consent(req, licenceID, "name,domicile") // "" approves every requested field
//	err = w.Refuse(req, licenceID)
//	gl, err := w.Grants(licenceID)               // the licence's grants, as the issuer holds them
//	err = w.RevokeGrant(licenceID, g.ID)         // the service's next fetch is refused
//	ul, err := w.Uses(licenceID)                 // 用证记录, each Use.Verified against the ledger
//
// OpenRequest verifies the signed request with the ledger key of the
// issuer's trust bundle under the pinned root (it needs one, as Refresh
// does): not expired, naming that issuer, asking only for fields of its
// class. Consent and Refuse sign a consent (certs/consent) with the device
// key of the chosen licence, which must be of the request's class, from
// the same issuer, bound and presentable; every call about a licence
// carries a proof (Authorization: ELProof) signed by that key, so only
// this device can approve, list or revoke. Uses checks each listed event
// itself: the raw ledger entry decodes to what is listed, its commitment
// to the licence opens to this copy (a grant's fetches and revocation
// name a verified grant of it), and the entry is under a checkpoint
// signed by the ledger key (the inclusion-proof code VerifyInLedger
// uses). A use that does not check is listed with Verified false and its
// Problem, not dropped.
//
// The issuer's refusals are *ConsentError values (errors.Is
// ErrConsentRefused and ErrRequestExpired, ErrRequestAnswered,
// ErrLicenceNotValid or ErrGrantEnded).
//
// # Naming a licence
//
// Every call taking a licence ID takes the holder's names for it
// (Resolve): its number in List (1, 2, …, in the order claimed; Licence.Index),
// the licence identifier printed on it (证照标识, Licence.CopyOf), or the
// wallet's copy identifier (licence#tag, Licence.ID). Several copies of
// one licence in the wallet make its identifier an *AmbiguousError
// listing their numbers.
//
// # Errors
//
// Every error matches a sentinel (errors.Is) or is one of the typed
// errors above; Reason(err) names it with a stable code
// (ReasonWrongPassphrase, ReasonClaimCodeRefused, ReasonNetwork, …),
// and ErrorMessage(err, "zh" or "en") gives the holder's words for it:
// what happened and what to do, never the SDK's technical text, which
// an app keeps for a details view or its log. The issuer's refusals of
// a claim are read from the API's status, code and field: a claim code
// that is unknown, used or expired is one reason, since the issuer
// answers all three alike.
//
// # Storage and keys
//
// The device key is an encrypted PKCS#8 file (PBES2, PBKDF2-HMAC-SM3,
// SM4-CBC; gm.MarshalEncryptedPrivateKey) — the one format gm offers for
// passphrase-protected keys. Each licence is its own file, "ELW1" ‖
// SM4-GCM(store key, record JSON, aad = "elicense/wallet/v1" 0x00 ‖ file
// name), written atomically with mode 0600; the store key is derived from
// the device key (SM3, see Wallet). A wrong passphrase is
// ErrWrongPassphrase; a damaged or tampered file is a *StoreError
// matching ErrCorrupt and costs only that entry. Storage is pluggable
// (directory, memory, browser localStorage in ./wasm, or a platform
// secure store implemented through gomobile).
//
// # gomobile
//
// The exported API uses only string, []byte, bool, int64, error, exported
// struct pointers and the Storage interface; lists are returned as
// LicenceList, GrantList and UseList (Len, At), field sets as
// comma-separated keys or JSON.
// TestGomobileSurface checks this, since gomobile itself cannot be
// installed offline here. Bind with
//
//	gomobile bind -target android ./mobile-sdk
//
// # WebAssembly
//
// GOOS=js GOARCH=wasm go build ./mobile-sdk/wasm builds the web front end
// (see its documentation); TestWasmBuild runs that build.
package mobilesdk

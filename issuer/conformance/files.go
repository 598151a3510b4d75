package conformance

// fileHead describes one vector file.
type fileHead struct {
	name, kind, desc string
	spec             []string
	input            map[string]string
}

var qrInputDoc = map[string]string{
	"text":  "the QR text as scanned",
	"trust": "context: the verifier holds the trust data of context.json (verified at context.now); none: it holds no trust bundle",
	"prior": "texts the same verifier checked before this one, in order, at the vector's now (replay)",
}

func fileHeads() []fileHead {
	return []fileHead{
		{"qr-static.json", "qr-static", "Static (unbound, paper) QR tokens and every decode, trust, key and status failure a QR verifier grades.",
			[]string{"docs/spec/qr.md", "docs/spec/verification.md", "docs/spec/status.md", "docs/spec/trust.md"}, qrInputDoc},
		{"qr-bound.json", "qr-bound", "Holder-bound presentations: device signature, presentation window, replay.",
			[]string{"docs/spec/qr.md", "docs/spec/verification.md"}, qrInputDoc},
		{"disclosures.json", "disclosures", "Selective disclosure in QR tokens: commitments, inclusion proofs, disclosed values.",
			[]string{"docs/spec/qr.md"}, qrInputDoc},
		{"credential.json", "credential", "The full credential (compact JWS, typ elicense+jwt), checked against context.json; status looked up by status.status_list.",
			[]string{"docs/spec/credential.md"}, map[string]string{"jws": "the compact JWS"}},
		{"identifiers.json", "identifiers", "Identifier validators: GB/T 36904 licence identifiers, 统一社会信用代码, 公民身份号码, 组织机构代码.",
			[]string{"docs/spec/identifiers.md"}, map[string]string{"check": "uscc | resident-id | org-code | license-id", "value": "the text to check"}},
		{"fields.json", "fields", "The catalogue's field validators (context.json's catalogue, certs/catalog/classes.json, as data).",
			[]string{"docs/spec/catalogue.md"}, map[string]string{"check": "field", "class": "class key", "field": "field key", "value": "the value to check"}},
		{"status.json", "status", "Status list tokens, lookups and signed deltas (ELSD).",
			[]string{"docs/spec/status.md"}, map[string]string{
				"op":    "token: verify token as list; lookup: verify it, then read entry index; delta: verify base as list, then the delta (base64) and apply it",
				"list":  "the bundle's status list ID (context.json): its URI and signer_kid key",
				"token": "the status list token (compact JWS)", "base": "the base list token (delta)", "delta": "the signed delta, base64",
				"index":       "the entry to read (lookup)",
				"min_version": "the version already held for the list's URI (the reader's high-water mark, STATUS-13): a token, or a delta, of a lower version is refused (the base of a delta is the list held, not checked against it); 0: none held"}},
		{"trust.json", "trust", "Signed trust bundles and genuine sets.",
			[]string{"docs/spec/trust.md", "docs/spec/certificates.md"}, map[string]string{
				"op":       "bundle: verify bundle; genuine: verify bundle, then the genuine set doc (base64) of key kid",
				"bundle":   "the trust bundle (compact JWS)",
				"root_pem": "the pinned root; absent: root.pem",
				"previous": "a bundle the verifier already holds (verified first at the vector's now), for rollback checks",
				"kid":      "key ID (genuine)", "doc": "the genuine-set document, base64 (genuine)"}},
		{"ledger.json", "ledger", "Checkpoints (C2SP signed notes, SM2), inclusion and consistency proofs (RFC 9162 with SM3), verifier keys, ledger entries (events).",
			[]string{"docs/spec/ledger.md", "docs/spec/events.md"}, map[string]string{
				"op":   "checkpoint | inclusion | consistency | vkey | event",
				"note": "the signed checkpoint text (checkpoint)", "vkey": "the C2SP verifier key string (checkpoint, vkey)", "origin": "the expected origin (checkpoint)",
				"leaf_hash": "base64 (inclusion)", "index": "leaf index (inclusion)", "size": "tree size (inclusion)",
				"size1": "old size (consistency)", "size2": "new size (consistency)", "root": "base64 root (inclusion)",
				"root1": "base64 old root", "root2": "base64 new root", "proof": "base64 hashes", "entry": "the raw entry, base64 (event)",
				"open_field": "an opening's field name (event, EVENT-05, EVENT-10)", "open_salt": "the opening's 16-byte salt, base64", "open_value": "the opening's value (its UTF-8 bytes)"}},
		{"seals.json", "seals", "GB/T 38540 electronic seals (SES_Seal v4) and detached SES_Signature over a document.",
			[]string{"docs/spec/seals-ofd.md"}, map[string]string{
				"signature": "the DER SES_Signature, base64", "document": "the signed document, base64",
				"root_pem":      "the root the seal maker's certificate must chain to; absent: root.pem (root.pem is also the time-stamp authorities' root)",
				"revoked_seals": "seals the verifier knows to be revoked (esid, since), as a trust bundle lists them"}},
		{"ofd.json", "ofd", "OFD (GB/T 33190) files with Type=\"Seal\" signatures (GB/T 38540) and Type=\"Sign\" signatures (GM/T 0010 SignedData): the licence file elicense makes, its failures, and the licence file re-signed by the kit. " +
			"A vector's unprotected lists the shown files no signature protects, each of which a verifier must report as a warning (OFD-07); an ofd:VALID vector without it must be reported with none.",
			[]string{"docs/spec/seals-ofd.md"}, map[string]string{"file": "the OFD package (zip), base64; verified against root.pem at the vector's now (root.pem is also the time-stamp authorities' root)",
				"revoked_seals": "seals the verifier knows to be revoked (esid, since), as a trust bundle lists them",
				"check_licence": "true: also judge the licence the file carries (OFD-10), its QR token verified at the vector's now against the trust state of conformance/README.md step 1 (context.json's bundle, status lists and genuine sets), with a fresh replay memory"}},
		{"grants.json", "grants", "授权用证: grant credentials (SD-JWT with SM3 digests) with their consent and signed request, as a relying party checks them; ELProof proofs.",
			[]string{"docs/spec/consent.md"}, map[string]string{
				"op":    "grant: verify sdjwt with consent and request against context.json's bundle and lists, as relying party rp fetching grant; proof: verify the ELProof with key for method, path and body",
				"sdjwt": "the presented grant credential (jwt~d1~…~)", "consent": "the holder's consent (compact JWS)", "request": "the signed request (compact JWS)",
				"rp": "the relying party's id", "grant": "the grant id fetched",
				"proof": "the ELProof token", "key": "the device key, compressed SM2 point in hex", "method": "HTTP method", "path": "request path", "body": "request body, base64"}},
		{"certificates.json", "certificates", "The elicense certificate profile: roles and the agency policy attribute.",
			[]string{"docs/spec/certificates.md"}, map[string]string{
				"cert":    "a certificate, DER base64 (issued by root.pem)",
				"require": "when set, the role it is offered for: the expected verdict is whether it may play it; otherwise expected is role:<its role>"}},
		{"catalogue.json", "catalogue", "The catalogue file format (classes.json): what a reader accepts.",
			[]string{"docs/spec/catalogue.md"}, map[string]string{"doc": "a catalogue file"}},
		{"standards.json", "standards", "Examples published by the standards elicense follows, with their source (not made by this project).",
			[]string{"docs/spec/README.md"}, map[string]string{
				"algorithm": "sm3 | sm2-verify | base45-encode | base45-decode | status-list | zlib-inflate | rfc6962-root-sha256 | rfc6962-inclusion-sha256 | rfc6962-consistency-sha256 | uscc | resident-id | org-code | license-id",
				"want":      "the expected output (hex, or text)"}},
	}
}

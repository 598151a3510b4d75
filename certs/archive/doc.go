// Package archive is the archive package (电子档案) format: the layout of
// the zip an agency exports of the licences it issued or changed in a
// period (issuer/archive writes it, verifier/archive checks it), its
// manifest and the JSON files in it, each with a strict parser.
//
// Layout, in this order in the zip (every entry stored, not deflated,
// with one fixed modification time):
//
//	README.txt                       what the package is and how to check it
//	catalogue.json                   the class catalogue the files were made with
//	trust/root.cer                   the root certificate (DER)
//	trust/ledger.cer                 the ledger key's certificate (DER)
//	trust/agency/<key ID>.cer        every certificate of the agency (DER)
//	trust/keys.json                  the agency's keys and their states (Keys)
//	ledger/checkpoint                one signed checkpoint (C2SP note)
//	licences/<licence ID>/metadata.json  GB/T 36903 metadata (Metadata)
//	licences/<licence ID>/licence.ofd    the sealed OFD file (GB/T 36905)
//	licences/<licence ID>/credential.jws the signed credential
//	licences/<licence ID>/events.json    ledger entries with inclusion proofs (Events)
//	manifest.json                    every file above with its size and SM3 (Manifest)
//	manifest.sig                     SM2 signature (DER) over manifest.json's bytes
//
// The manifest is signed with an SM2 signature over its exact bytes
// rather than a JWS, so any SM2 tool checks it (openssl pkeyutl -verify
// -rawin -digest sm3 with distid 1234567812345678), and the signed bytes
// are the file itself, with nothing to canonicalise.
//
// FileItems is what a licence file says (its GB/T 36903 items, which
// issuer/ofdfile writes from it; LicenceItems, the same derived from a
// credential) and LicenceFace what its pages show (which issuer/ofdfile
// lays out from it): verifier/archive checks an archived file against
// its credential with both (ItemMismatch, Face.Diff).
//
// It must not: read the issuer's state, sign, or verify signatures.
package archive

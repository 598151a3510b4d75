// Package pki is the issuer's development PKI: a root (trust anchor) SM2
// certificate, one issuing certificate per agency carrying the classes it
// may issue (certs/agencycert), and the ledger/status/trust-bundle signing
// certificate, kept as files in one directory.
//
// It owns the directory layout, making a PKI ([Init], atomically: a crash
// leaves either nothing or a complete PKI), reading and checking one
// ([Load], [LoadRootSigner]) and the dev agency set ([DefaultAgencies]).
// Layout, all under one directory (mode 0700):
//
//	root.crt.pem, root.key.pem          self-signed SM2 CA, path length 0
//	agencies/<code>.crt.pem, .key.pem   one per agency, issued by the root
//	ledger.crt.pem, ledger.key.pem      ledger, status list and bundle signer
//	receipt.crt.pem, receipt.key.pem    SM2 encryption key for counter receipts
//	                                    (role receipt; AddReceiptKey for a PKI
//	                                    made before it existed)
//	pki.json                            manifest: agencies, classes, files, key IDs
//	passphrase                          only if Init was asked to write it
//
// Init builds the PKI in a temporary directory beside the target
// (.<name>.init-*) and renames it into place; rename(2) replaces an empty
// directory and refuses a non-empty one, so an existing PKI is never
// overwritten, even by a concurrent Init. A crash mid-way can leave that
// temporary directory behind, never a partial PKI.
//
// Private keys are PKCS#8 encrypted under the passphrase (gm), mode 0600.
// Signing keys leave this package only as crypto.Signer, so an HSM or KMS
// can replace the files later. The root key is not read by Load: normal
// operation needs only the root certificate, and the root key can stay
// offline.
//
// It must not: import verifier, mobile-sdk or cmd; take passphrases from
// anywhere but its caller; serve HTTP or issue licences (other issuer
// packages do, with the signers it loads).
package pki

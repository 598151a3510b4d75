package pki

import (
	"path"
	"time"
)

// File names inside a PKI directory.
const (
	ManifestFile   = "pki.json"
	RootCertFile   = "root.crt.pem"
	RootKeyFile    = "root.key.pem"
	LedgerCertFile = "ledger.crt.pem"
	LedgerKeyFile  = "ledger.key.pem"
	// The receipt key: SM2 encryption, certified by the root with role
	// receipt (docs/consent.md §9).
	ReceiptCertFile = "receipt.crt.pem"
	ReceiptKeyFile  = "receipt.key.pem"
	AgenciesDir     = "agencies"
	PassphraseFile  = "passphrase"
)

// ManifestVersion is the version of the pki.json format written by Init.
const ManifestVersion = 1

// Manifest is pki.json: what Init made. Load checks every entry against
// the certificates; the certificates are the authority.
type Manifest struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	Root      CertEntry `json:"root"`
	Ledger    CertEntry `json:"ledger"`
	// Receipt is the receipt key; absent in a PKI made before there was
	// one (AddReceiptKey adds it).
	Receipt  *CertEntry    `json:"receipt,omitempty"`
	Agencies []AgencyEntry `json:"agencies"`
}

// CertEntry describes one certificate and its key. File names are
// slash-separated and relative to the PKI directory.
type CertEntry struct {
	Subject   string    `json:"subject"`
	Cert      string    `json:"cert"`
	Key       string    `json:"key"`
	KeyID     string    `json:"key_id"` // gm.KeyIDString of the certificate
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

// AgencyEntry describes one agency certificate.
type AgencyEntry struct {
	Code      string   `json:"code"`
	Name      string   `json:"name"`
	Classes   []string `json:"classes"`    // catalogue class keys
	TypeCodes []string `json:"type_codes"` // as written in the certificate
	CertEntry
	// Previous are the agency's earlier keys, oldest first: no longer
	// signing, kept so that what they signed stays verifiable.
	Previous []PreviousKey `json:"previous,omitempty"`
}

// Key states of an agency's previous keys.
const (
	KeyRetired     = "retired"     // replaced; what it signed before Since stays valid
	KeyCompromised = "compromised" // nothing it signed at or after Since is valid
)

// PreviousKey is an agency key that no longer signs. Its private key is
// destroyed when it is rotated out; only the certificate is kept.
type PreviousKey struct {
	Cert      string    `json:"cert"`
	KeyID     string    `json:"key_id"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// Genuine, on a compromised key, names the document listing the QR
	// cores the key signed before Since (certs/trust genuine sets), which
	// the trust bundle references for counters.
	Genuine *GenuineRef `json:"genuine,omitempty"`
}

// GenuineRef names a compromised key's genuine-set document: its file
// under the PKI directory, entry count and SM3 (lower-case hex).
type GenuineRef struct {
	File  string `json:"file"`
	Count uint64 `json:"count"`
	SM3   string `json:"sm3"`
}

// genuineFile is where a compromised key's genuine set is kept.
func genuineFile(code, kid string) string {
	return path.Join(AgenciesDir, code+"."+kid+".genuine")
}

// previousCertFile is where a rotated-out agency certificate is kept.
func previousCertFile(code, kid string) string {
	return path.Join(AgenciesDir, code+"."+kid+".crt.pem")
}

// agencyCertFile and agencyKeyFile are the file names of an agency's
// certificate and key.
func agencyCertFile(code string) string { return path.Join(AgenciesDir, code+".crt.pem") }
func agencyKeyFile(code string) string  { return path.Join(AgenciesDir, code+".key.pem") }

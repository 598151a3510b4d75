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
	AgenciesDir    = "agencies"
	PassphraseFile = "passphrase"
)

// ManifestVersion is the version of the pki.json format written by Init.
const ManifestVersion = 1

// Manifest is pki.json: what Init made. Load checks every entry against
// the certificates; the certificates are the authority.
type Manifest struct {
	Version   int           `json:"version"`
	CreatedAt time.Time     `json:"created_at"`
	Root      CertEntry     `json:"root"`
	Ledger    CertEntry     `json:"ledger"`
	Agencies  []AgencyEntry `json:"agencies"`
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
}

// agencyCertFile and agencyKeyFile are the file names of an agency's
// certificate and key.
func agencyCertFile(code string) string { return path.Join(AgenciesDir, code+".crt.pem") }
func agencyKeyFile(code string) string  { return path.Join(AgenciesDir, code+".key.pem") }

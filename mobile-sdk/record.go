package mobilesdk

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"elicense/certs/qr"
	"elicense/internal/gm"
)

// Store file format, version 1 (one file per licence, "lic-<32 hex>.el",
// the hex being the first 16 bytes of SM3 over the licence ID):
//
//	"ELW1" ‖ SM4-GCM(key, record JSON, aad)       ; nonce(12) ‖ ct ‖ tag(16)
//	aad = "elicense/wallet/v1" 0x00 ‖ file name
//
// The additional data binds each file to its name, so files cannot be
// swapped or renamed without detection. key is the wallet's store key
// (see deriveStoreKey).
const (
	fileMagic    = "ELW1"
	fileAADLabel = "elicense/wallet/v1\x00"
	licPrefix    = "lic-"
	licSuffix    = ".el"
	keyFile      = "device-key.pem"
	trustFile    = "trust-root.el"
	maxFileSize  = 1 << 20
	recordFormat = 1
)

// record is what the wallet keeps for one licence.
type record struct {
	V          int    `json:"v"`
	ID         string `json:"id"`
	Class      string `json:"class"`
	HolderName string `json:"holder_name"`
	HolderCode string `json:"holder_code"`
	// Status is what the issuer last said: its claim answer, then the
	// verified status list at each refresh (RefreshedAt > 0).
	Status        string          `json:"status"`
	StatusAt      int64           `json:"status_at,omitempty"`    // iat of the status list last read
	StatusVersion uint64          `json:"status_ver,omitempty"`   // its version: an older list is refused
	RefreshedAt   int64           `json:"refreshed_at,omitempty"` // when the wallet read it (wallet clock)
	CopyOf        string          `json:"copy_of,omitempty"`
	LedgerIndex   uint64          `json:"ledger_index"`
	Server        string          `json:"server"`
	ClaimedAt     int64           `json:"claimed_at"`
	Credential    string          `json:"credential"`
	Holding       json.RawMessage `json:"holding"`
	Verified      bool            `json:"verified"` // checked against a pinned trust root at claim time
	// Ledger proves the issuance is in the issuer's ledger (with a pinned
	// trust root only).
	Ledger *ledgerProof `json:"ledger,omitempty"`
}

func licFileName(id string) string {
	sum := gm.SM3([]byte(id))
	return licPrefix + hex.EncodeToString(sum[:16]) + licSuffix
}

func fileAAD(name string) []byte { return []byte(fileAADLabel + name) }

// sealFile encrypts plaintext for the named file.
func sealFile(key []byte, name string, plaintext []byte) ([]byte, error) {
	ct, err := gm.SealSM4GCM(key, plaintext, fileAAD(name))
	if err != nil {
		return nil, err
	}
	return append([]byte(fileMagic), ct...), nil
}

// openFile checks and decrypts the named file; every failure is a
// corruption *StoreError.
func openFile(key []byte, name string, data []byte) ([]byte, error) {
	bad := func(format string, args ...any) error {
		return &StoreError{File: name, Corrupt: true, err: fmt.Errorf(format, args...)}
	}
	if len(data) > maxFileSize {
		return nil, bad("%d bytes, more than %d", len(data), maxFileSize)
	}
	if !bytes.HasPrefix(data, []byte(fileMagic)) {
		return nil, bad("not a wallet file (no %q header)", fileMagic)
	}
	pt, err := gm.OpenSM4GCM(key, data[len(fileMagic):], fileAAD(name))
	if err != nil {
		return nil, bad("authentication failed: %v", err)
	}
	return pt, nil
}

// decodeRecord parses and checks a licence file's plaintext.
func decodeRecord(name string, pt []byte) (*record, error) {
	bad := func(format string, args ...any) error {
		return &StoreError{File: name, Corrupt: true, err: fmt.Errorf(format, args...)}
	}
	dec := json.NewDecoder(bytes.NewReader(pt))
	dec.DisallowUnknownFields()
	var r record
	if err := dec.Decode(&r); err != nil {
		return nil, bad("record: %v", err)
	}
	if dec.More() {
		return nil, bad("trailing data after the record")
	}
	switch {
	case r.V != recordFormat:
		return nil, bad("record format %d, want %d", r.V, recordFormat)
	case r.ID == "":
		return nil, bad("record without an ID")
	case licFileName(r.ID) != name:
		return nil, bad("record for %q stored under another name", r.ID)
	case strings.Count(r.Credential, ".") != 2:
		return nil, bad("credential is not a compact JWS")
	}
	if _, err := parseHolding(r.Holding); err != nil {
		return nil, bad("holding: %v", err)
	}
	return &r, nil
}

// decodeLicenceFile is the whole store decoder: header, decryption,
// record. It is what FuzzDecodeLicenceFile exercises.
func decodeLicenceFile(key []byte, name string, data []byte) (*record, error) {
	pt, err := openFile(key, name, data)
	if err != nil {
		return nil, err
	}
	return decodeRecord(name, pt)
}

func parseHolding(raw []byte) (*qr.Holding, error) {
	if len(raw) == 0 {
		return nil, errors.New("empty")
	}
	var h qr.Holding
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, err
	}
	if len(h.Core) == 0 || len(h.KeyID) != gm.KeyIDSize || len(h.IssuerSig) != gm.SignatureSize {
		return nil, errors.New("incomplete QR core")
	}
	return &h, nil
}

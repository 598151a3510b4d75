package archive

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"elicense/certs/catalog"
	"elicense/certs/ident"

	jsonv2 "github.com/go-json-experiment/json"
)

// Format is the manifest's format mark.
const Format = "elicense-archive/1"

// Paths of the package's fixed files.
const (
	ReadmePath     = "README.txt"
	CataloguePath  = "catalogue.json"
	RootPath       = "trust/root.cer"
	LedgerCertPath = "trust/ledger.cer"
	KeysPath       = "trust/keys.json"
	CheckpointPath = "ledger/checkpoint"
	ManifestPath   = "manifest.json"
	SignaturePath  = "manifest.sig"
)

// Names of a licence version's files under LicenceDir.
const (
	MetadataFile   = "metadata.json"
	OFDFile        = "licence.ofd"
	CredentialFile = "credential.jws"
	EventsFile     = "events.json"
)

// LicenceFiles are a licence version's files, in package order.
var LicenceFiles = []string{MetadataFile, OFDFile, CredentialFile, EventsFile}

// AgencyCertPath is the path of an agency certificate by key ID.
func AgencyCertPath(kid string) string { return "trust/agency/" + kid + ".cer" }

// LicenceDir is the directory of a licence version.
func LicenceDir(id string) string { return "licences/" + id + "/" }

// Limits on what a reader accepts, per kind of file (MaxSize), so that
// a package of a few bytes cannot make a verifier hold gigabytes: the
// manifest bounds the number of files, and every other file is far
// smaller than its limit in a package the issuer writes.
const (
	// MaxFiles bounds the manifest's list: a quarter of it is about
	// three hundred thousand licence versions.
	MaxFiles = 1_200_000
	// MaxManifestSize bounds manifest.json: MaxFiles entries of about
	// two hundred bytes.
	MaxManifestSize = 256 << 20
	// MaxAgencyCerts bounds the agency's certificates (trust/agency/),
	// one per key it has had.
	MaxAgencyCerts = 64
	MaxCertSize    = 64 << 10 // one DER certificate
	MaxSmallSize   = 1 << 20  // README.txt, keys.json, metadata.json, credential.jws, checkpoint
	MaxJSONSize    = 16 << 20 // events.json: a version's events and their proofs
	MaxFileSize    = 16 << 20 // licence.ofd
	MaxSigSize     = 1 << 10  // manifest.sig: one DER SM2 signature
	// MaxCatalogueSize bounds catalogue.json: the class catalogue, many
	// times the size of today's.
	MaxCatalogueSize = 4 << 20
)

// MaxSize is the size limit of the package file at path p, or 0 for a
// path that is not in the layout.
func MaxSize(p string) int64 {
	switch p {
	case ManifestPath:
		return MaxManifestSize
	case SignaturePath:
		return MaxSigSize
	case RootPath, LedgerCertPath:
		return MaxCertSize
	case CataloguePath:
		return MaxCatalogueSize
	case ReadmePath, KeysPath, CheckpointPath:
		return MaxSmallSize
	}
	if !InLayout(p) {
		return 0
	}
	if strings.HasPrefix(p, "trust/agency/") {
		return MaxCertSize
	}
	switch _, file, _ := LicenceOf(p); file {
	case OFDFile:
		return MaxFileSize
	case EventsFile:
		return MaxJSONSize
	}
	return MaxSmallSize
}

// ErrMalformed wraps every parse error.
var ErrMalformed = errors.New("archive: malformed")

func malformed(what, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, what, fmt.Sprintf(format, args...))
}

// Digest is an SM3 value, hex in JSON.
type Digest [32]byte

func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// MarshalText writes lowercase hex.
func (d Digest) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, d[:]), nil }

// UnmarshalText reads exactly 64 lowercase hex digits.
func (d *Digest) UnmarshalText(b []byte) error {
	if len(b) != 64 || strings.ToLower(string(b)) != string(b) {
		return fmt.Errorf("want 64 lowercase hex digits")
	}
	_, err := hex.Decode(d[:], b)
	return err
}

// Manifest lists every file of the package but itself and its
// signature, in package order.
type Manifest struct {
	Format string    `json:"format"`
	Agency string    `json:"agency"` // 颁发机构代码
	From   time.Time `json:"from"`   // period start, inclusive
	To     time.Time `json:"to"`     // period end, exclusive
	Count  int       `json:"count"`  // licence versions
	// Origin is the ledger's origin, the checkpoint's first line.
	Origin string `json:"origin"`
	// Signer is the key ID of the agency certificate (under trust/agency/)
	// whose key signed the manifest.
	Signer string `json:"signer"`
	Files  []File `json:"files"`
}

// File is one file and its fixity value.
type File struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	SM3  Digest `json:"sm3"`
}

// Keys is trust/keys.json: the agency's keys and their states as the
// issuer knew them at export.
type Keys struct {
	Agency string `json:"agency"`
	Name   string `json:"name"` // 颁发机构
	Keys   []Key  `json:"keys"`
}

// Key states.
const (
	KeyActive      = "active"
	KeyRetired     = "retired"
	KeyCompromised = "compromised"
)

// Key is one agency key.
type Key struct {
	KeyID string    `json:"key_id"`
	State string    `json:"state"`
	Since time.Time `json:"since,omitzero"` // retired or compromised since
}

// Metadata is a licence version's metadata.json: the GB/T 36903 items
// (名称 → 值, in GB/T 36903 order, as the OFD file's CustomDatas carry
// them) and its place in the licence's history.
type Metadata struct {
	ID           string    `json:"id"`
	Class        string    `json:"class"`
	Items        []Item    `json:"items"`
	IssuedAt     time.Time `json:"issued_at"`
	Status       string    `json:"status"` // at the period's end: valid, suspended, revoked or superseded
	Supersedes   string    `json:"supersedes,omitempty"`
	SupersededBy string    `json:"superseded_by,omitempty"`
	Credential   Digest    `json:"credential_sm3"`
	// SignedAt is the time licence.ofd is signed as of: made at export,
	// backdated to the version's issuance (or its seal's start).
	SignedAt time.Time `json:"ofd_signed_at"`
}

// Item is one GB/T 36903 metadata item.
type Item struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Events is a licence version's events.json: its ledger entries (and
// those of its device copies), oldest first, each with an inclusion
// proof against the package's checkpoint.
type Events struct {
	CheckpointSize uint64  `json:"checkpoint_size"`
	Events         []Event `json:"events"`
}

// Event is one ledger entry.
type Event struct {
	Index uint64   `json:"index"`
	Kind  string   `json:"kind"`
	Raw   []byte   `json:"raw"` // the entry's bytes, base64
	Proof []Digest `json:"proof"`
}

func unmarshal(what string, b []byte, v any) error {
	if limit := jsonLimit(what); int64(len(b)) > limit {
		return malformed(what, "%d bytes, at most %d", len(b), limit)
	}
	if err := jsonv2.Unmarshal(b, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return malformed(what, "%v", err)
	}
	return nil
}

// jsonLimit is the size limit of a JSON file, by its name.
func jsonLimit(what string) int64 {
	switch what {
	case ManifestPath:
		return MaxManifestSize
	case EventsFile:
		return MaxJSONSize
	}
	return MaxSmallSize
}

// Marshal encodes v as the package writes its JSON files: deterministic
// (struct order), one line, and a final newline.
func Marshal(v any) ([]byte, error) {
	b, err := jsonv2.Marshal(v, jsonv2.Deterministic(true))
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseManifest parses and checks manifest.json: the format mark, a
// period, and files with valid, distinct, package-relative paths none of
// which is the manifest or its signature.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := unmarshal(ManifestPath, b, &m); err != nil {
		return nil, err
	}
	switch {
	case m.Format != Format:
		return nil, malformed(ManifestPath, "format %q, want %q", m.Format, Format)
	case m.Agency == "" || !utf8.ValidString(m.Agency) || strings.ContainsAny(m.Agency, "/\\"):
		return nil, malformed(ManifestPath, "agency %q", m.Agency)
	case !m.From.Before(m.To):
		return nil, malformed(ManifestPath, "from %v is not before to %v", m.From, m.To)
	case m.Count < 0:
		return nil, malformed(ManifestPath, "count %d", m.Count)
	case m.Origin == "" || m.Signer == "":
		return nil, malformed(ManifestPath, "no origin or signer")
	case len(m.Files) > MaxFiles:
		return nil, malformed(ManifestPath, "%d files, at most %d", len(m.Files), MaxFiles)
	}
	if err := CheckPath(m.Signer + ".cer"); err != nil {
		return nil, malformed(ManifestPath, "signer %q", m.Signer)
	}
	seen := make(map[string]bool, len(m.Files))
	certs := 0
	for _, f := range m.Files {
		if err := CheckPath(f.Path); err != nil {
			return nil, malformed(ManifestPath, "%v", err)
		}
		if !InLayout(f.Path) {
			return nil, malformed(ManifestPath, "lists %s, which is not in the package layout", f.Path)
		}
		if seen[f.Path] {
			return nil, malformed(ManifestPath, "%s listed twice", f.Path)
		}
		if f.Size < 0 || f.Size > MaxSize(f.Path) {
			return nil, malformed(ManifestPath, "%s: size %d, at most %d", f.Path, f.Size, MaxSize(f.Path))
		}
		if strings.HasPrefix(f.Path, "trust/agency/") {
			if certs++; certs > MaxAgencyCerts {
				return nil, malformed(ManifestPath, "more than %d agency certificates", MaxAgencyCerts)
			}
		}
		seen[f.Path] = true
	}
	return &m, nil
}

// CheckPath accepts a clean, relative, slash-separated path of printable
// UTF-8 that cannot climb out of the package.
func CheckPath(p string) error {
	switch {
	case p == "" || len(p) > 1024 || !utf8.ValidString(p):
		return fmt.Errorf("path %q: empty, too long or not UTF-8", p)
	case strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == "..":
		return fmt.Errorf("path %q: not a clean relative path", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("path %q: control character", p)
		}
	}
	return nil
}

// InLayout reports whether p is a file the layout has (the manifest and
// its signature excepted).
func InLayout(p string) bool {
	switch p {
	case ReadmePath, CataloguePath, RootPath, LedgerCertPath, KeysPath, CheckpointPath:
		return true
	}
	if kid, ok := strings.CutPrefix(p, "trust/agency/"); ok {
		kid, ok = strings.CutSuffix(kid, ".cer")
		return ok && kid != "" && !strings.Contains(kid, "/")
	}
	if _, file, ok := LicenceOf(p); ok {
		for _, f := range LicenceFiles {
			if file == f {
				return true
			}
		}
	}
	return false
}

// LicenceOf returns the licence ID and file name of a path under
// licences/, or ok false.
func LicenceOf(p string) (id, file string, ok bool) {
	rest, found := strings.CutPrefix(p, "licences/")
	if !found {
		return "", "", false
	}
	id, file, found = strings.Cut(rest, "/")
	if !found || id == "" || strings.Contains(file, "/") {
		return "", "", false
	}
	return id, file, true
}

// ParseKeys parses trust/keys.json.
func ParseKeys(b []byte) (*Keys, error) {
	var k Keys
	if err := unmarshal(KeysPath, b, &k); err != nil {
		return nil, err
	}
	if k.Agency == "" || len(k.Keys) == 0 || len(k.Keys) > MaxAgencyCerts {
		return nil, malformed(KeysPath, "no agency, or %d keys (at most %d)", len(k.Keys), MaxAgencyCerts)
	}
	active := 0
	for _, key := range k.Keys {
		if CheckPath(AgencyCertPath(key.KeyID)) != nil || strings.Contains(key.KeyID, "/") || key.KeyID == "" {
			return nil, malformed(KeysPath, "key ID %q", key.KeyID)
		}
		switch key.State {
		case KeyActive:
			active++
		case KeyRetired, KeyCompromised:
			if key.Since.IsZero() {
				return nil, malformed(KeysPath, "key %s is %s with no time", key.KeyID, key.State)
			}
		default:
			return nil, malformed(KeysPath, "key %s: state %q", key.KeyID, key.State)
		}
	}
	if active > 1 {
		return nil, malformed(KeysPath, "%d active keys", active)
	}
	return &k, nil
}

// ParseCatalogue parses catalogue.json, the class catalogue the package's
// files were made with, with the catalogue's own strict parser: the
// licence items a file must carry follow from it, and an issuer's
// catalogue changes over the years a package is kept.
func ParseCatalogue(b []byte) (*catalog.Catalog, error) {
	if len(b) > MaxCatalogueSize {
		return nil, malformed(CataloguePath, "%d bytes, at most %d", len(b), MaxCatalogueSize)
	}
	c, err := catalog.Parse(b)
	if err != nil {
		return nil, malformed(CataloguePath, "%v", err)
	}
	return c, nil
}

// ParseMetadata parses a metadata.json; its ID must be a GB/T 36904
// identifier.
func ParseMetadata(b []byte) (*Metadata, error) {
	var m Metadata
	if err := unmarshal(MetadataFile, b, &m); err != nil {
		return nil, err
	}
	if _, err := ident.ParseLicenseID(m.ID); err != nil {
		return nil, malformed(MetadataFile, "id: %v", err)
	}
	if len(m.Items) == 0 || m.Class == "" {
		return nil, malformed(MetadataFile, "no class or no metadata items")
	}
	switch m.Status {
	case StatusValid, StatusSuspended, StatusRevoked, StatusSuperseded:
	default:
		return nil, malformed(MetadataFile, "status %.20q", m.Status)
	}
	return &m, nil
}

// ParseEvents parses an events.json: at least one event, indexes
// increasing and below the checkpoint size.
func ParseEvents(b []byte) (*Events, error) {
	var e Events
	if err := unmarshal(EventsFile, b, &e); err != nil {
		return nil, err
	}
	if len(e.Events) == 0 {
		return nil, malformed(EventsFile, "no events")
	}
	for i, ev := range e.Events {
		switch {
		case ev.Index >= e.CheckpointSize:
			return nil, malformed(EventsFile, "event %d: index %d not below the checkpoint size %d", i, ev.Index, e.CheckpointSize)
		case i > 0 && ev.Index <= e.Events[i-1].Index:
			return nil, malformed(EventsFile, "event %d: index %d not after %d", i, ev.Index, e.Events[i-1].Index)
		case len(ev.Raw) == 0 || len(ev.Proof) > 64:
			return nil, malformed(EventsFile, "event %d: no entry or a proof of %d hashes", i, len(ev.Proof))
		}
	}
	return &e, nil
}

// Readme is README.txt: what a reader without this software needs.
var Readme = bytes.TrimLeft([]byte(`
电子证照档案包 (elicense archive package, format `+Format+`)

This zip holds an agency's electronic licences issued or changed in a
period, with everything needed to check them without the issuer:

  manifest.json   every file's path, size and SM3 (fixity); the agency,
                  the period [from, to), the ledger origin, the signer key
  manifest.sig    SM2 signature (DER, user ID 1234567812345678) by the
                  agency key trust/agency/<signer>.cer over manifest.json
  catalogue.json  the licence class catalogue the files were made with
  trust/          root, ledger and agency certificates (DER), key states
  ledger/checkpoint  a signed checkpoint (C2SP tlog-checkpoint, SM3 tree)
  licences/<id>/  metadata.json (GB/T 36903), licence.ofd (GB/T 36905,
                  sealed), credential.jws, events.json (ledger entries
                  with RFC 6962 inclusion proofs against the checkpoint)

Check it with: elicense-verify archive PACKAGE [--store DIR]
`), "\n")

package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"elicense/certs/catalog"
)

// Now is the kit's fixed clock: the trust data is valid at it and most
// vectors are verified at it.
var Now = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// File is one vector file: the vectors of one artefact kind.
type File struct {
	Kind        string   `json:"kind"`
	Description string   `json:"description"`
	Spec        []string `json:"spec"` // the specification pages the vectors exercise
	// Input documents what a vector's input members mean for this kind.
	Input   map[string]string `json:"input"`
	Vectors []Vector          `json:"vectors"`
}

// Vector is one case: an input, the time a verifier must take as now,
// and the verdict it must give.
type Vector struct {
	ID          string    `json:"id"`
	Rules       []string  `json:"rules"`
	Description string    `json:"description"`
	Now         time.Time `json:"now,omitzero"`
	Input       any       `json:"input"`
	Expected    string    `json:"expected"`
	// AlsoConforming are other verdicts the specification allows (a MAY
	// rule); Expected is the stricter reading.
	AlsoConforming []string `json:"also_conforming,omitempty"`
	// Unprotected (ofd vectors) are the shown files that no signature
	// protects, which a verifier must report as a warning (OFD-07); an
	// ofd vector expecting VALID without it must be reported with none.
	Unprotected []string `json:"unprotected,omitempty"`
	// Source names the published document and section a vector is
	// copied from (standards.json only).
	Source string `json:"source,omitempty"`
}

// Context is the trust data the QR, credential and grant vectors are
// verified against (context.json).
type Context struct {
	Note    string            `json:"_note"`
	Now     time.Time         `json:"now"`
	RootPEM string            `json:"root_pem"`
	Bundle  string            `json:"bundle"`
	Lists   map[string]string `json:"status_lists"`
	Genuine map[string][]byte `json:"genuine_sets"`
	// LedgerKey is the C2SP verifier key string of the ledger key.
	LedgerKey string `json:"ledger_vkey"`
	// Catalogue is the catalogue file (classes.json) every vector is
	// judged against, so that the kit is self-contained.
	Catalogue json.RawMessage `json:"catalogue"`
}

// Exemption is a rule without a vector, and why (exemptions.json).
type Exemption struct {
	Rule   string `json:"rule"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Deviation is a vector whose expected verdict the project's own
// verifier does not give yet (known-deviations.json).
type Deviation struct {
	Vector    string `json:"vector"`
	Rule      string `json:"rule"`
	Expected  string `json:"expected"`
	Reference string `json:"reference_verdict"`
	Reason    string `json:"reason"`
}

// ctxSteps make the vectors that need the final trust context.
var ctxSteps = []func(*kit, *Context) error{}

// kit collects the files while they are generated.
type kit struct {
	w          *world
	files      map[string]*File
	count      map[string]int
	deviations []Deviation
	// copyQR is an original and its holder copy (credentialVectors),
	// whose QR tokens qrCopies shows.
	copyQR [2]*licence
	// licenceOFD is the licence file with a QR token sealed by its
	// agency (ofdLicenceVectors), which ofdCoverageVectors re-seals.
	licenceOFD []byte
}

func (k *kit) file(name string) *File {
	f, ok := k.files[name]
	if !ok {
		panic("conformance: no file " + name) // programming error
	}
	return f
}

// add appends v to file name, numbering its ID, and returns the ID.
func (k *kit) add(name string, v Vector) string {
	f := k.file(name)
	k.count[name]++
	v.ID = fmt.Sprintf("%s-%03d", f.Kind, k.count[name])
	if v.Now.IsZero() {
		v.Now = k.w.Now
	}
	v.Now = v.Now.UTC()
	f.Vectors = append(f.Vectors, v)
	return v.ID
}

// Generate builds the kit and returns its files by name.
func Generate() (map[string][]byte, error) {
	w, err := newWorld(Now)
	if err != nil {
		return nil, err
	}
	k := &kit{w: w, files: map[string]*File{}, count: map[string]int{}}
	for _, f := range fileHeads() {
		k.files[f.name] = &File{Kind: f.kind, Description: f.desc, Spec: f.spec, Input: f.input}
	}
	steps := []func() error{k.qrVectors, k.credentialVectors, k.qrCopies, k.fieldVectors}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	ctx, err := k.context()
	if err != nil {
		return nil, err
	}
	// Documents whose vectors need the final trust context.
	for _, s := range ctxSteps {
		if err := s(k, ctx); err != nil {
			return nil, err
		}
	}
	if err := k.standardVectors(); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for name, f := range k.files {
		if out[name], err = marshal(f); err != nil {
			return nil, err
		}
	}
	if out["context.json"], err = marshal(ctx); err != nil {
		return nil, err
	}
	out["root.pem"] = w.rootPEM()
	if out["exemptions.json"], err = marshal(exemptionsDoc()); err != nil {
		return nil, err
	}
	if out["known-deviations.json"], err = marshal(k.deviationsDoc()); err != nil {
		return nil, err
	}
	return out, nil
}

func (k *kit) deviationsDoc() any {
	d := append([]Deviation{}, k.deviations...)
	sort.Slice(d, func(i, j int) bool { return d[i].Vector < d[j].Vector })
	return struct {
		Note       string      `json:"_note"`
		Deviations []Deviation `json:"deviations"`
	}{
		Note: "Vectors whose expected verdict (the specification's) the project's own verifier does not give yet. " +
			"The Go test (verifier/conformancekit) requires the reference verdict for these, so it notices when a fix lands; " +
			"an independent implementation must give the expected verdict.",
		Deviations: d,
	}
}

// context signs the final trust data: the bundle, every status list,
// the genuine set.
func (k *kit) context() (*Context, error) {
	w := k.w
	b, err := w.bundle(uint64(w.Now.Add(-time.Hour).UnixMicro()), w.Now.Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	c := &Context{
		Note: "Trust data for the QR, credential and grant vectors: pin root_pem, verify bundle at now, verify each status list " +
			"(bundle ID → token) with the bundle's signer key under its URI at now, and each genuine set (key ID → document, base64) " +
			"against the bundle. catalogue is the catalogue file (docs/spec/catalogue.md) every vector is judged against. " +
			"Regenerate with: go run ./cmd/elicense conformance --out conformance",
		Now: w.Now, RootPEM: string(w.rootPEM()), Lists: map[string]string{},
	}
	if c.Bundle, err = w.signBundle(b); err != nil {
		return nil, err
	}
	for _, id := range listOrder {
		if c.Lists[id], err = w.signList(id); err != nil {
			return nil, err
		}
	}
	doc, err := w.genuineDoc()
	if err != nil {
		return nil, err
	}
	c.Genuine = map[string][]byte{w.Compromised.KID: doc}
	s, err := w.noteSigner()
	if err != nil {
		return nil, err
	}
	c.LedgerKey = s.Verifier().String()
	c.Catalogue = catalog.DefaultJSON()
	return c, nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write generates the kit into dir (created if missing), replacing the
// files it makes and leaving others (README.md) alone.
func Write(dir string) ([]string, error) {
	files, err := Generate()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return nil, err
		}
	}
	return names, nil
}

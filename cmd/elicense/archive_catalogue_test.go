package main

import (
	"bytes"
	"regexp"
	"slices"
	"testing"
	"time"

	format "elicense/certs/archive"
	"elicense/certs/catalog"
	"elicense/internal/gm"
	varchive "elicense/verifier/archive"
)

// A package carries the catalogue its files were made with and is checked
// with it: one exported before a class got its number field (which
// changes the 证照编号 a file must carry) stays VALID under today's
// built-in catalogue. Without catalogue.json (re-signed by the agency, as
// no exporter writes it) the built-in catalogue is used and the report
// says so, and a mismatch names where the expected value came from; with
// a malformed one the package is INVALID.
func TestArchiveCatalogueTravels(t *testing.T) {
	old, err := catalog.Parse(regexp.MustCompile(`"number_field": "[a-z_]+",`).ReplaceAll(catalog.DefaultJSON(), nil))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	// food-operation-permit: a number field today, none in old.
	fx := newArchiveFixtureOf(t, 1, t0, fixtureOptions{Catalog: old, Class: 1})
	from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	fx.set(to.Add(time.Hour))
	pkg, _ := fx.export(t, from, to)
	p := fx.svc.PKI()
	agA, _ := p.Agency(fx.agency)
	names, files := unpackArchive(t, pkg)
	if !bytes.Equal(files[format.CataloguePath], old.JSON()) || names[1] != format.CataloguePath {
		t.Fatalf("the package does not carry the exporter's catalogue second: %q", names)
	}
	m, err := format.ParseManifest(files[format.ManifestPath])
	if err != nil {
		t.Fatal(err)
	}
	without := slices.DeleteFunc(slices.Clone(names[:len(names)-2]), func(n string) bool { return n == format.CataloguePath })
	malformed := map[string][]byte{}
	for n, b := range files {
		malformed[n] = b
	}
	malformed[format.CataloguePath] = []byte(`{"classes":[]}`)
	resign := func(names []string, files map[string][]byte) []byte {
		mc := *m
		return repackArchive(t, names, files, &mc, agA.Signer)
	}
	const noNumber = `licence.ofd: no 证照编号, the credential's permit_no (it has no 证照编号 of its own; permit_no is class food-operation-permit's number field in this verifier's catalogue, the package carrying none) is "`
	for _, tc := range []struct {
		name string
		pkg  []byte
		cat  *catalog.Catalog // Options.Catalog
		from varchive.CatalogueSource
		code varchive.Code // of the problem containing want
		want string        // "": VALID
	}{
		{"as exported, under today's catalogue", pkg, nil, varchive.CataloguePackage, "", ""},
		{"as exported, under another catalogue given", pkg, old, varchive.CataloguePackage, "", ""},
		{"no catalogue.json, the built-in one", resign(without, files), nil, varchive.CatalogueVerifier, varchive.Mismatch, noNumber},
		{"no catalogue.json, the exporter's given", resign(without, files), old, varchive.CatalogueVerifier, "", ""},
		{"a malformed catalogue.json", resign(names[:len(names)-2], malformed), old, varchive.CatalogueVerifier, varchive.Malformed, "catalogue.json: catalog: no classes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := varchive.Verify(bytes.NewReader(tc.pkg), int64(len(tc.pkg)), varchive.Options{Roots: []*gm.Certificate{p.Root}, Catalog: tc.cat})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Catalogue != tc.from {
				t.Errorf("catalogue %q, want %q", rep.Catalogue, tc.from)
			}
			wantVerdict(t, rep, tc.code, tc.want)
		})
	}
}

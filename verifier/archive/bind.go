package archive

import (
	"fmt"
	"time"

	format "elicense/certs/archive"
	"elicense/certs/catalog"
	"elicense/certs/credential"
	certsofd "elicense/certs/ofd"
	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/verifier/ofd"
)

// bind ties a version's sealed file and metadata to its credential, the
// one file the ledger anchors (an issue event records its SM3): an
// agency key can seal any file and sign any manifest, so without this a
// package re-sealed with another holder on the page would pass. The
// file's items and metadata.json's must be the credential's, the page
// must show its face, the seal must be made with the credential's key
// (or the key that replaced it), and the file must be signed as of a
// time within the version's life in the period, or, when the agency's
// seal was replaced since, as of the replacement's start: the exporter
// seals with the seal in use at export, as early as it allows.
func (c *licenceCheck) bind(file *certsofd.Package, sig *ofd.Signature, md *format.Metadata, lic *credential.License, credKeys []credential.IssuerKey) {
	cl, ok := c.p.cat.ByKey(lic.Class)
	if !ok {
		return // credential.Verify refuses a class the catalogue lacks
	}
	want := format.LicenceItems(lic, cl)
	var got []format.Item
	for _, cd := range file.Root.Bodies[0].CustomData {
		got = append(got, format.Item{Name: cd.Name, Value: cd.Value})
	}
	from := origin{lic: lic, cl: cl, catalogue: c.p.rep.Catalogue}
	c.sameItems(format.OFDFile, got, want, from)
	c.sameItems(format.MetadataFile, md.Items, want, from)
	c.checkPage(file, lic, cl)
	sealStart, ok := c.checkSealKey(file, sig, md.SignedAt, credKeys)
	if !ok {
		return
	}
	switch at := md.SignedAt; {
	case at.After(c.p.to) && !at.Equal(sealStart.Truncate(time.Second)):
		c.bad(Mismatch, "%s: signed as of %s, after the period's end %s", format.OFDFile, at.Format(time.RFC3339), c.p.to.Format(time.RFC3339))
	case at.Before(md.IssuedAt.Truncate(time.Second)):
		c.bad(Mismatch, "%s: signed as of %s, before the version was issued (%s)", format.OFDFile, at.Format(time.RFC3339), md.IssuedAt.Format(time.RFC3339))
	}
}

// sameItems reports the first item of file that is not the credential's,
// saying where the expected value comes from.
func (c *licenceCheck) sameItems(file string, got, want []format.Item, from origin) {
	name, g, w, ok := format.ItemMismatch(got, want)
	switch {
	case ok:
	case g == "":
		c.bad(Mismatch, "%s: no %s, %s is %q", file, name, from.of(name), w)
	case w == "" && name == format.ItemNumber:
		c.bad(Mismatch, "%s: %s %q, which the credential does not have, nor class %s a number field in %s", file, name, g, from.cl.Key, from.catalogue.phrase())
	case w == "":
		c.bad(Mismatch, "%s: %s %q, which the credential does not have", file, name, g)
	case g == w:
		c.bad(Mismatch, "%s: %s given more than once", file, name)
	default:
		c.bad(Mismatch, "%s: %s %q, %s is %q", file, name, g, from.of(name), w)
	}
}

// origin says where the value of a licence item comes from: the
// credential, or its class in the catalogue the checks use, which a
// report must name (an item the catalogue derives may differ only
// because the catalogue changed).
type origin struct {
	lic       *credential.License
	cl        *catalog.Class
	catalogue CatalogueSource
}

func (o origin) of(name string) string {
	cat := o.catalogue.phrase()
	switch name {
	case format.ItemTypeCode, format.ItemName:
		return fmt.Sprintf("class %s's in %s", o.cl.Key, cat)
	case format.ItemNumber:
		if o.lic.Number != "" {
			return "the credential's"
		}
		return fmt.Sprintf("the credential's %s (it has no %s of its own; %s is class %s's number field in %s)", o.cl.NumberField, name, o.cl.NumberField, o.cl.Key, cat)
	case format.ItemValidFrom, format.ItemValidUntil:
		return fmt.Sprintf("the credential's, by class %s's validity in %s", o.cl.Key, cat)
	}
	return "the credential's"
}

// checkPage checks that the file's pages show the credential's face:
// the class name, every field the class prints with its label, the
// agency, the issue date and the identifier, as format.LicenceFace has
// them (the layout draws its pages from the same function), in order,
// with nothing else but page numbers. A file re-sealed with one value
// changed on its page, its metadata left alone, is a Mismatch naming the
// field.
func (c *licenceCheck) checkPage(file *certsofd.Package, lic *credential.License, cl *catalog.Class) {
	doc, err := file.Document(file.Root.Bodies[0].DocRoot)
	if err != nil {
		c.bad(OFD, "%s: %v", format.OFDFile, err)
		return
	}
	pages := make([][]string, 0, len(doc.Pages))
	for _, pg := range doc.Pages {
		// The texts come from the parse that checked the page for the
		// signature (verifier/ofd, through Shown): the page, 16 KB of it
		// the QR's path, is not read twice.
		texts, err := file.PageTexts(pg.Loc)
		if err != nil {
			c.bad(OFD, "%s: page %s: %v", format.OFDFile, pg.Loc, err)
			return
		}
		pages = append(pages, texts)
	}
	face := format.LicenceFace(cl, lic.Fields, lic.IssuerName, lic.IssuedOn.Format(credential.DateLayout), lic.ID)
	d, ok := face.Diff(pages)
	switch {
	case ok:
	case d.Item == "":
		c.bad(Mismatch, "%s: the page shows %q after the last item, which the credential does not", format.OFDFile, d.Found)
	case d.Key != "":
		c.bad(Mismatch, "%s: the page does not show %s (%s) %q, the credential's; it shows %q", format.OFDFile, d.Item, d.Key, d.Want, d.Found)
	default:
		c.bad(Mismatch, "%s: the page does not show %s %q, the credential's; it shows %q", format.OFDFile, d.Item, d.Want, d.Found)
	}
}

// checkSealKey checks that the file was sealed with the key that signed
// the credential, or, once that key was rotated out (retired or
// compromised), with the agency key in use at the time the file is
// signed as of; it returns the start of the seal used.
func (c *licenceCheck) checkSealKey(file *certsofd.Package, sig *ofd.Signature, at time.Time, credKeys []credential.IssuerKey) (sealStart time.Time, ok bool) {
	cert, sealStart, err := sealSigner(file, sig.Path)
	if err != nil {
		c.bad(OFD, "%s: %v", format.OFDFile, err)
		return sealStart, false
	}
	pub := cert.PublicKey
	rotated := len(credKeys) > 0
	for _, k := range credKeys {
		if k.Public.Equal(pub) {
			return sealStart, true
		}
		rotated = rotated && (!k.RetiredSince.IsZero() || !k.CompromisedSince.IsZero())
	}
	kid := gm.KeyIDString(cert.Raw)
	if rotated {
		for _, k := range c.p.keys.IssuerKeys(kid) {
			if k.Public.Equal(pub) && inUse(k, at) {
				return sealStart, true
			}
		}
	}
	c.bad(Mismatch, "%s: sealed with key %s, not the key that signed %s nor the one in use after it", format.OFDFile, kid, format.CredentialFile)
	return sealStart, false
}

// inUse reports whether k was neither retired nor compromised at t.
func inUse(k credential.IssuerKey, t time.Time) bool {
	return (k.RetiredSince.IsZero() || k.RetiredSince.After(t)) && (k.CompromisedSince.IsZero() || k.CompromisedSince.After(t))
}

// sealSigner is the signer certificate of the signature whose
// Signature.xml is at path, and the start of its seal's validity.
func sealSigner(file *certsofd.Package, path string) (*gm.Certificate, time.Time, error) {
	s, err := file.Signature(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	b, err := file.File(s.SignedValue)
	if err != nil {
		return nil, time.Time{}, err
	}
	sv, err := ses.ParseSignature(b)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", s.SignedValue, err)
	}
	if sv.TBS.Seal == nil {
		return nil, time.Time{}, fmt.Errorf("%s: no seal", s.SignedValue)
	}
	cert, err := sv.SignerCertificate()
	return cert, sv.TBS.Seal.Info.Property.ValidStart.Time(), err
}

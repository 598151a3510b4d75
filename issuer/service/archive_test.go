package service

import (
	"context"
	"crypto/ecdsa"
	"testing"
	"time"

	format "elicense/certs/archive"
	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ofd"
)

// The archive's OFD file of every class carries the items a verifier
// derives from the credential alone (format.LicenceItems), so
// verifier/archive's check that the two agree holds for what the issuer
// makes, whichever class: the renderer and the format cannot drift apart
// unnoticed.
func TestArchiveFileItemsAreTheCredentials(t *testing.T) {
	e := openEnv(t, t.TempDir())
	defer e.close(t)
	keys := credential.KeySet{}
	for _, ag := range e.pki.Agencies {
		keys[ag.KeyID] = []credential.IssuerKey{{Public: ag.Cert.PublicKey.(*ecdsa.PublicKey), AgencyCode: ag.Code, Classes: ag.Classes}}
	}
	n := 0
	for class, fields := range samples(t) {
		rec, err := e.svc.Issue(context.Background(), operatorFor(t, e.pki, class), IssueRequest{Class: class, Fields: fields})
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		b, at, err := e.svc.ArchiveFile(rec.Record)
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		if at.Before(rec.Record.IssuedAt.Truncate(time.Second)) {
			t.Errorf("%s: signed as of %v, before its issuance %v", class, at, rec.Record.IssuedAt)
		}
		l, err := credential.Verify(rec.Record.Credential, credential.VerifyOptions{Keys: keys, Now: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		cl, _ := catalog.Default().ByKey(l.Class)
		p, err := ofd.Open(b, nil)
		if err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		var got []format.Item
		for _, cd := range p.Root.Bodies[0].CustomData {
			got = append(got, format.Item{Name: cd.Name, Value: cd.Value})
		}
		if name, g, w, ok := format.ItemMismatch(got, format.LicenceItems(l, cl)); !ok {
			t.Errorf("%s: the file's %s is %q, the credential's %q", class, name, g, w)
		}
		n++
	}
	if n != len(catalog.Default().Classes()) {
		t.Errorf("%d classes checked, the catalogue has %d", n, len(catalog.Default().Classes()))
	}
}

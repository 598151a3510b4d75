package conformancekit

import (
	"testing"

	"elicense/certs/agencycert"
	"elicense/certs/catalog"
	"elicense/internal/gm"
)

var certErrs = map[string]error{
	"agencycert.ErrRole": agencycert.ErrRole, "agencycert.ErrMalformedPolicy": agencycert.ErrMalformedPolicy,
	"agencycert.ErrInvalidPolicy": agencycert.ErrInvalidPolicy, "agencycert.ErrNoPolicy": agencycert.ErrNoPolicy,
}

var roles = map[string]agencycert.Role{"root": agencycert.RoleRoot, "agency": agencycert.RoleAgency,
	"ledger": agencycert.RoleLedger, "receipt": agencycert.RoleReceipt}

func runCert(t *testing.T, _ *env, v vector) string {
	var in struct {
		Cert    []byte `json:"cert"`
		Require string `json:"require"`
	}
	mustInput(t, v, &in)
	c, err := gm.ParseCertificate(in.Cert)
	if err != nil {
		return "reject:x509"
	}
	if in.Require != "" {
		want, ok := roles[in.Require]
		if !ok {
			t.Fatalf("%s: unknown role %q", v.ID, in.Require)
		}
		if err := agencycert.RequireRole(c, want); err != nil {
			return reject(err, certErrs)
		}
		return "VALID"
	}
	r, err := agencycert.RoleOf(c)
	if err != nil {
		return reject(err, certErrs)
	}
	if r == agencycert.RoleAgency {
		if _, err := agencycert.FromCertificate(c); err != nil {
			return reject(err, certErrs)
		}
	}
	return "role:" + r.String()
}

func runCatalogue(t *testing.T, _ *env, v vector) string {
	var in struct {
		Doc string `json:"doc"`
	}
	mustInput(t, v, &in)
	if _, err := catalog.Parse([]byte(in.Doc)); err != nil {
		return "reject:catalog"
	}
	return "VALID"
}

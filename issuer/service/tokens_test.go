package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// recordingSigner records what it is asked to sign.
type recordingSigner struct{ got []Operator }

func (r *recordingSigner) Mint(op Operator, ttl time.Duration) (string, string, error) {
	r.got = append(r.got, op)
	return "tok", "id", nil
}

// TestTokenMinter: the checks POST /v1/tokens and elicense token create
// share; a refused request is never signed.
func TestTokenMinter(t *testing.T) {
	p := testPKI(t)
	own, _ := p.AgencyForClass("business-license")
	other, _ := p.AgencyForClass("drivers-license")
	for _, tc := range []struct {
		name    string
		req     TokenRequest
		field   string   // "" means allowed
		classes []string // as signed
	}{
		{"admin", TokenRequest{Subject: "ops", Role: RoleAdmin, TTL: time.Hour}, "", nil},
		{"operator", TokenRequest{Subject: "clerk", Role: RoleOperator, Agency: own.Code, TTL: 8 * time.Hour}, "", nil},
		{"operator with classes by name and code", TokenRequest{Subject: "clerk", Role: RoleOperator, Agency: own.Code, Classes: []string{"营业执照", "business-license", "food-operation-permit"}, TTL: time.Hour}, "", []string{"business-license", "food-operation-permit"}},
		{"auditor", TokenRequest{Subject: "audit", Role: RoleAuditor, Agency: own.Code, TTL: MaxTokenTTL}, "", nil},
		{"no subject", TokenRequest{Role: RoleAdmin, TTL: time.Hour}, "subject", nil},
		{"control character in subject", TokenRequest{Subject: "a\nb", Role: RoleAdmin, TTL: time.Hour}, "subject", nil},
		{"long subject", TokenRequest{Subject: strings.Repeat("x", 201), Role: RoleAdmin, TTL: time.Hour}, "subject", nil},
		{"unknown role", TokenRequest{Subject: "x", Role: "root", TTL: time.Hour}, "role", nil},
		{"admin with an agency", TokenRequest{Subject: "x", Role: RoleAdmin, Agency: own.Code, TTL: time.Hour}, "agency", nil},
		{"operator without agency", TokenRequest{Subject: "x", Role: RoleOperator, TTL: time.Hour}, "agency", nil},
		{"unknown agency", TokenRequest{Subject: "x", Role: RoleAuditor, Agency: "91310000MA1FL0000X", TTL: time.Hour}, "agency", nil},
		{"unknown class", TokenRequest{Subject: "x", Role: RoleOperator, Agency: own.Code, Classes: []string{"fishing-permit"}, TTL: time.Hour}, "classes", nil},
		{"another agency's class", TokenRequest{Subject: "x", Role: RoleOperator, Agency: own.Code, Classes: []string{"drivers-license"}, TTL: time.Hour}, "classes", nil},
		{"auditor with classes", TokenRequest{Subject: "x", Role: RoleAuditor, Agency: other.Code, Classes: []string{"drivers-license"}, TTL: time.Hour}, "classes", nil},
		{"zero lifetime", TokenRequest{Subject: "x", Role: RoleAdmin}, "ttl", nil},
		{"too short", TokenRequest{Subject: "x", Role: RoleAdmin, TTL: 30 * time.Second}, "ttl", nil},
		{"too long", TokenRequest{Subject: "x", Role: RoleAdmin, TTL: MaxTokenTTL + time.Second}, "ttl", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig := &recordingSigner{}
			tok, err := TokenMinter{PKI: p, Signer: sig}.Mint(tc.req)
			if tc.field != "" {
				var se *Error
				if !errors.Is(err, ErrInvalid) || !errors.As(err, &se) || se.Field != tc.field || len(sig.got) != 0 {
					t.Fatalf("got %v (signed %d), want invalid %s", err, len(sig.got), tc.field)
				}
				return
			}
			if err != nil || len(sig.got) != 1 || tok.Token != "tok" || tok.ID != "id" {
				t.Fatalf("got %+v, %v", tok, err)
			}
			op := sig.got[0]
			if op.Subject != tc.req.Subject || op.Role != tc.req.Role || op.Agency != tc.req.Agency || !slices.Equal(op.Classes, tc.classes) {
				t.Fatalf("signed %+v", op)
			}
			if d := time.Until(tok.Expires) - tc.req.TTL; d > time.Second || d < -2*time.Second {
				t.Fatalf("expires %v, want in %v", tok.Expires, tc.req.TTL)
			}
		})
	}
}

// TestMintTokenAdminsOnly: through the service, only admins mint.
func TestMintTokenAdminsOnly(t *testing.T) {
	e := openEnv(t, t.TempDir())
	defer e.close(t)
	op := operatorFor(t, e.pki, "business-license")
	req := TokenRequest{Subject: "x", Role: RoleAuditor, Agency: op.Agency, TTL: time.Hour}
	sig := &recordingSigner{}
	if _, err := e.svc.MintToken(context.Background(), op, sig, req); !errors.Is(err, ErrForbidden) || len(sig.got) != 0 {
		t.Fatalf("operator: %v", err)
	}
	if _, err := e.svc.MintToken(context.Background(), admin, sig, req); err != nil || len(sig.got) != 1 {
		t.Fatalf("admin: %v", err)
	}
}

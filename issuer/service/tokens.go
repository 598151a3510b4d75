package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"elicense/certs/catalog"
	"elicense/issuer/pki"
)

// Bounds of an operator token's lifetime. A token cannot be revoked
// before the server knows it, so none lives longer than a year; one
// shorter than a minute is a unit mistake.
const (
	MinTokenTTL = time.Minute
	MaxTokenTTL = 366 * 24 * time.Hour
)

// TokenRequest asks for an operator token.
type TokenRequest struct {
	Subject string        // who the token is for
	Role    Role          //
	Agency  string        // operators and auditors: the agency they act for
	Classes []string      // operators: the class keys (or type codes, names) they are limited to; empty means all of the agency's
	TTL     time.Duration // lifetime, within [MinTokenTTL, MaxTokenTTL]
}

// TokenSigner signs an operator token whose request has been checked
// (issuer/api Tokens). It returns the token and its ID.
type TokenSigner interface {
	Mint(op Operator, ttl time.Duration) (token, id string, err error)
}

// MintedToken is a token made, as the API returns it.
type MintedToken struct {
	Token   string    `json:"token"`
	ID      string    `json:"id"`
	Subject string    `json:"subject"`
	Role    Role      `json:"role"`
	Agency  string    `json:"agency,omitempty"`
	Classes []string  `json:"classes,omitempty"`
	Expires time.Time `json:"expires"`
}

// TokenMinter checks token requests against a catalogue and a PKI and has
// them signed. The service uses it for MintToken; a command that mints
// the first admin token, before any server runs, uses it with the PKI it
// loads, so both apply the same checks.
type TokenMinter struct {
	Catalog *catalog.Catalog // nil means catalog.Default()
	PKI     *pki.PKI
	Signer  TokenSigner
	Now     func() time.Time // nil means time.Now
}

// Mint checks req and returns the signed token. Checks: a subject of
// printable text (at most 200 bytes); a known role; an admin names no
// agency or classes (it acts for all); an operator or auditor names an
// agency of the PKI; only an operator names classes, each in the
// catalogue and allowed to its agency (they are recorded as class keys);
// the lifetime within [MinTokenTTL, MaxTokenTTL]. Refusals are ErrInvalid
// with the field.
func (m TokenMinter) Mint(req TokenRequest) (*MintedToken, error) {
	op, err := m.check(req)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	expires := now().Add(req.TTL)
	tok, id, err := m.Signer.Mint(op, req.TTL)
	if err != nil {
		return nil, &Error{Kind: ErrInvalid, Msg: "cannot sign the token", Err: err}
	}
	return &MintedToken{Token: tok, ID: id, Subject: op.Subject, Role: op.Role, Agency: op.Agency, Classes: op.Classes, Expires: expires.UTC().Truncate(time.Second)}, nil
}

func (m TokenMinter) check(req TokenRequest) (Operator, error) {
	op := Operator{Subject: req.Subject, Role: req.Role, Agency: req.Agency}
	switch {
	case strings.TrimSpace(req.Subject) == "":
		return op, invalid("subject", "a subject (who the token is for) is required")
	case len(req.Subject) > 200 || strings.IndexFunc(req.Subject, unicode.IsControl) >= 0 || strings.TrimSpace(req.Subject) != req.Subject:
		return op, invalid("subject", "subject %q: at most 200 bytes of text, no control characters or surrounding spaces", req.Subject)
	case !req.Role.Valid():
		return op, invalid("role", "unknown role %q (want admin, operator, auditor or counter)", req.Role)
	case req.TTL < MinTokenTTL || req.TTL > MaxTokenTTL:
		return op, invalid("ttl", "lifetime %v outside [%v, %v]", req.TTL, MinTokenTTL, MaxTokenTTL)
	}
	if req.Role == RoleAdmin {
		if req.Agency != "" || len(req.Classes) > 0 {
			return op, invalid("agency", "an admin acts for every agency: give no agency or classes")
		}
		return op, nil
	}
	if req.Agency == "" {
		return op, invalid("agency", "role %s needs an agency", req.Role)
	}
	if m.PKI == nil {
		return op, &Error{Kind: ErrUnavailable, Msg: "no PKI to check the agency against"}
	}
	ag, ok := m.PKI.Agency(req.Agency)
	if !ok {
		return op, invalid("agency", "unknown agency %q", req.Agency)
	}
	if len(req.Classes) == 0 {
		return op, nil
	}
	if req.Role != RoleOperator {
		return op, invalid("classes", "only an operator is limited to classes; an auditor reads every class of its agency")
	}
	cat := m.Catalog
	if cat == nil {
		cat = catalog.Default()
	}
	for _, c := range req.Classes {
		cl, ok := cat.Lookup(c)
		if !ok {
			return op, invalid("classes", "unknown licence class %q", c)
		}
		if !ag.Policy.AllowsClass(cl) {
			return op, invalid("classes", "agency %s is not certified to issue %s", ag.Code, cl.Key)
		}
		if !slices.Contains(op.Classes, cl.Key) {
			op.Classes = append(op.Classes, cl.Key)
		}
	}
	return op, nil
}

// MintToken mints an operator token with signer after TokenMinter's
// checks against the service's catalogue and current PKI. Only admins
// mint tokens (ErrForbidden).
func (s *Service) MintToken(_ context.Context, op Operator, signer TokenSigner, req TokenRequest) (*MintedToken, error) {
	if op.Role != RoleAdmin {
		return nil, &Error{Kind: ErrForbidden, Msg: fmt.Sprintf("%s may not create tokens (admins only)", op.Subject)}
	}
	return TokenMinter{Catalog: s.cat, PKI: s.pki(), Signer: signer, Now: s.now}.Mint(req)
}

package service

import (
	"fmt"
	"slices"

	"elicense/certs/catalog"
)

// Role is what an operator may do.
type Role string

// Roles. Admins act for every agency and manage tokens; operators act for
// their own agency's classes; auditors only read.
const (
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
	RoleAuditor  Role = "auditor"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleOperator || r == RoleAuditor || r == RoleCounter
}

// Operator is the authenticated caller of a service method.
type Operator struct {
	Subject string   // who, as recorded in the ledger
	Role    Role     //
	Agency  string   // agency code (operators and auditors)
	Classes []string // class keys an operator may act on; empty means all of its agency's
}

// canRead reports whether op may see licences of agency.
func (op Operator) canRead(agency string) error {
	if op.Role == RoleAdmin || op.Agency == agency && op.Role != RoleCounter {
		return nil
	}
	return &Error{Kind: ErrForbidden, Msg: fmt.Sprintf("%s may not read licences of agency %s", op.Subject, agency)}
}

// canAct reports whether op may change licences of class cl at agency.
func (op Operator) canAct(agency string, cl *catalog.Class) error {
	switch {
	case op.Role == RoleAdmin:
		return nil
	case op.Role != RoleOperator:
		return &Error{Kind: ErrForbidden, Msg: fmt.Sprintf("role %q may not change licences", op.Role)}
	case op.Agency != agency:
		return &Error{Kind: ErrForbidden, Msg: fmt.Sprintf("%s acts for agency %s, not %s", op.Subject, op.Agency, agency)}
	case len(op.Classes) > 0 && !slices.Contains(op.Classes, cl.Key):
		return &Error{Kind: ErrForbidden, Msg: fmt.Sprintf("%s may not act on class %s", op.Subject, cl.Key)}
	}
	return nil
}

package boltstate

import (
	"errors"
	"time"

	"elicense/issuer/state"
)

// errConsentTODO is what the consent methods answer until they are
// written.
var errConsentTODO = errors.New("boltstate: consent state not implemented yet")

// RelyingParty implements state.Consents.
func (s *Store) RelyingParty(id string) (*state.RelyingParty, error) { return nil, errConsentTODO }

// RelyingParties implements state.Consents.
func (s *Store) RelyingParties() ([]*state.RelyingParty, error) { return nil, errConsentTODO }

// PutRequest implements state.Consents.
func (s *Store) PutRequest(r *state.Request) error { return errConsentTODO }

// Request implements state.Consents.
func (s *Store) Request(id string) (*state.Request, error) { return nil, errConsentTODO }

// RefuseRequest implements state.Consents.
func (s *Store) RefuseRequest(id string, at time.Time) error { return errConsentTODO }

// PruneRequests implements state.Consents.
func (s *Store) PruneRequests(now time.Time, max int) (int, error) { return 0, errConsentTODO }

// Grant implements state.Consents.
func (s *Store) Grant(id string) (*state.Grant, error) { return nil, errConsentTODO }

// GrantsOfCopy implements state.Consents.
func (s *Store) GrantsOfCopy(copy string) ([]*state.Grant, error) { return nil, errConsentTODO }

// GrantsOfParty implements state.Consents.
func (s *Store) GrantsOfParty(rp string, from uint64, limit int) ([]*state.Grant, uint64, error) {
	return nil, 0, errConsentTODO
}

// Uses implements state.Consents.
func (s *Store) Uses(copy string) ([]uint64, error) { return nil, errConsentTODO }

// PutRelyingParty implements state.ConsentTx.
func (t *tx) PutRelyingParty(rp *state.RelyingParty, create bool, index uint64) error {
	return errConsentTODO
}

// PutGrant implements state.ConsentTx.
func (t *tx) PutGrant(g *state.Grant, index uint64) error { return errConsentTODO }

// UseGrant implements state.ConsentTx.
func (t *tx) UseGrant(id string, index uint64) error { return errConsentTODO }

// RevokeGrant implements state.ConsentTx.
func (t *tx) RevokeGrant(id string, at time.Time, by state.RevokedBy, index uint64) error {
	return errConsentTODO
}

// AddUse implements state.ConsentTx.
func (t *tx) AddUse(copy string, index uint64) error { return errConsentTODO }

// TakeReceipt implements state.ConsentTx.
func (t *tx) TakeReceipt(id string, index uint64) error { return errConsentTODO }

package service

import (
	"bytes"
	"errors"
	"fmt"

	"elicense/certs/ses"
	"elicense/issuer/pki"
	"elicense/issuer/seal"
	"elicense/issuer/state"
)

// agencySeal is an agency's official seal (公章) as it appears on the
// licence faces the agency issues.
type agencySeal struct {
	ESID    string
	DER     []byte
	Picture []byte // PNG
}

// ensureAgencySeals makes, for every agency that has none (or whose
// signing key changed since), the official seal its licence faces carry:
// a GB/T 38540 seal made by the agency for itself, usable with its own
// certificate. Like the certificates, it is part of the agency's PKI and
// reaches counters in the trust bundle; seals made for holders are ledger
// events.
func (s *Service) ensureAgencySeals() error {
	k := s.keys.Load()
	seals := map[string]*agencySeal{}
	for _, ag := range k.pki.Agencies {
		sl, err := s.agencySealOf(ag)
		if err != nil {
			return err
		}
		seals[ag.Code] = sl
	}
	s.keys.Store(&keyring{pki: k.pki, seals: seals})
	return nil
}

// agencySealOf returns the agency's licence-face seal, making it when it
// has none or its seal was made with a key since rotated out.
func (s *Service) agencySealOf(ag *pki.Agency) (*agencySeal, error) {
	der, err := s.store.AgencySeal(ag.Code)
	var sl *ses.Seal
	if err == nil {
		if sl, err = ses.ParseSeal(der); err == nil && !bytes.Equal(sl.MakerCert, ag.CertDER) {
			err = state.ErrNotFound // made with a key since rotated out
		}
	}
	if errors.Is(err, state.ErrNotFound) {
		der, sl, err = s.makeAgencySeal(ag)
	}
	if err != nil {
		return nil, fmt.Errorf("service: seal of agency %s: %w", ag.Code, err)
	}
	return &agencySeal{ESID: sl.Info.ESID, DER: der, Picture: sl.Info.Picture.Data}, nil
}

func (s *Service) makeAgencySeal(ag *pki.Agency) ([]byte, *ses.Seal, error) {
	made, err := seal.Make(seal.MakerFromAgency(ag), seal.Options{
		HolderName: ag.Name, HolderCode: ag.Code, Type: ses.TypeOfficial, Name: ag.Name + "电子证照专用章",
		ValidFrom: s.now(), ValidUntil: ag.Cert.NotAfter, SignerCerts: [][]byte{ag.CertDER}, Now: s.now(),
	})
	if err != nil {
		return nil, nil, err
	}
	if err := s.store.PutAgencySeal(ag.Code, made.DER); err != nil {
		return nil, nil, err
	}
	return made.DER, made.Seal, nil
}

// AgencySeal returns the official seal an agency puts on licence faces.
func (s *Service) AgencySeal(code string) (esid string, der, picture []byte, ok bool) {
	a, ok := s.keys.Load().seals[code]
	if !ok {
		return "", nil, nil, false
	}
	return a.ESID, a.DER, a.Picture, true
}

// AgencyName is the name of an agency, or the code when it is unknown.
func (s *Service) AgencyName(code string) string {
	if ag, ok := s.pki().Agency(code); ok {
		return ag.Name
	}
	return code
}

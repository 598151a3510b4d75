package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/issuer/service"
	varchive "elicense/verifier/archive"
)

// A counter synced before the agency rotated its key checks a package
// exported after the rotation: the new key, which its bundle cannot know,
// is noted as not cross-checked and the package is VALID, as it is with no
// bundle; a key the old bundle knows is still cross-checked (one it calls
// compromised is a finding). A bundle issued after the rotation that does
// not list the new key distrusts it, and the OFD problem that follows says
// why.
func TestArchiveBundleOlderThanPackage(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	fx := newArchiveFixture(t, 3, t0)
	from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
	p := fx.svc.PKI()
	old, _ := p.Agency(fx.agency)
	oldKey := trust.AgencyKey{KID: old.KeyID, Cert: old.CertDER, State: trust.KeyActive}
	fx.set(to.Add(time.Hour))
	if _, err := fx.svc.RotateKey(context.Background(), service.Operator{Subject: "admin", Role: service.RoleAdmin}, fx.agency, service.RotateRequest{}); err != nil {
		t.Fatal(err)
	}
	fx.set(to.Add(2 * time.Hour))
	pkg, _ := fx.export(t, from, to)
	cur, _ := fx.svc.PKI().Agency(fx.agency)
	bundle := func(issued time.Time, keys ...trust.AgencyKey) *trust.Bundle {
		return &trust.Bundle{Seq: 7, IssuedAt: issued, Agencies: []trust.Agency{{Code: fx.agency, Keys: keys}}}
	}
	beforeRotation, afterRotation := to.Add(30*time.Minute), to.Add(3*time.Hour)
	compromised := oldKey
	compromised.State, compromised.Since = trust.KeyCompromised, from
	retired := oldKey
	retired.State, retired.Since = trust.KeyRetired, to.Add(time.Hour)
	newKey := trust.AgencyKey{KID: cur.KeyID, Cert: cur.CertDER, State: trust.KeyActive}
	for _, tc := range []struct {
		name    string
		bundle  *trust.Bundle
		crossed bool
		note    string         // a note containing it; "" none
		code    varchive.Code  // of the problem containing want; "" VALID
		want    *regexp.Regexp // in that problem
	}{
		{"no bundle", nil, false, "", "", nil},
		{"synced before the rotation", bundle(beforeRotation, oldKey), false,
			"trust/agency/" + cur.KeyID + ".cer: not cross-checked: the synced trust bundle (issued " + beforeRotation.Format(time.RFC3339) + ", seq 7) predates this package", "", nil},
		{"synced before, the old key compromised", bundle(beforeRotation, compromised), false, "sync and verify again",
			varchive.Untrusted, regexp.MustCompile(`trust/agency/` + old.KeyID + `\.cer: trust/keys\.json says retired, the synced trust bundle says compromised since`)},
		{"synced after the rotation, with both keys", bundle(afterRotation, retired, newKey), true, "", "", nil},
		{"synced after the rotation, without the new key", bundle(afterRotation, retired), true, "",
			varchive.Untrusted, regexp.MustCompile(`not a key of agency ` + fx.agency + ` in the synced trust bundle \(issued .*, seq 7\), which is not older than the package`)},
		{"synced after the rotation, without the new key: the OFD problem says why", bundle(afterRotation, retired), true, "",
			varchive.OFD, regexp.MustCompile(`licence\.ofd: UNTRUSTED_MAKER \S+`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := varchive.Verify(bytes.NewReader(pkg), int64(len(pkg)), varchive.Options{Roots: []*gm.Certificate{p.Root}, Bundle: tc.bundle})
			if err != nil {
				t.Fatal(err)
			}
			if rep.KeysCrossChecked != tc.crossed {
				t.Errorf("keys_cross_checked %v, want %v", rep.KeysCrossChecked, tc.crossed)
			}
			if found := tc.note == "" && len(rep.Notes) == 0 || tc.note != "" && strings.Contains(strings.Join(rep.Notes, "\n"), tc.note); !found {
				t.Errorf("notes %q, want one containing %q", rep.Notes, tc.note)
			}
			switch {
			case tc.code == "" && rep.Verdict != varchive.Valid:
				t.Fatalf("%s:\n%s", rep.Verdict, problemText(rep))
			case tc.code != "" && (rep.Verdict != varchive.Invalid || !hasProblemRE(rep, tc.code, tc.want)):
				t.Fatalf("%s:\n%s\nwant a %s problem matching %s", rep.Verdict, problemText(rep), tc.code, tc.want)
			}
		})
	}
}

// hasProblemRE reports whether rep has a problem of code matching re.
func hasProblemRE(rep *varchive.Report, code varchive.Code, re *regexp.Regexp) bool {
	all := rep.Problems
	for _, l := range rep.Licences {
		all = append(all, l.Problems...)
	}
	for _, p := range all {
		if p.Code == code && re.MatchString(p.Message) {
			return true
		}
	}
	return false
}

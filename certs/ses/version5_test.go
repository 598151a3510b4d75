package ses_test

import (
	"testing"
	"time"

	"elicense/certs/ses"
)

// A seal and a signature whose headers say version 5 have the v4
// structure: they are read as v4 and reported as version 5.
func TestVersion5(t *testing.T) {
	p := newPKI(t)
	info, err := ses.NewSealInfo(p.sealParams(ses.CertListCerts))
	if err != nil {
		t.Fatal(err)
	}
	info.Header.Version = 5
	s, err := ses.SignSeal(info, p.maker.der, p.maker.key)
	if err != nil {
		t.Fatal(err)
	}
	tbs := ses.TBSSign{Version: 5, Seal: s, TimeInfo: ses.GeneralizedTime(p.nb.Add(2 * time.Hour)), DataHash: make([]byte, 32), PropertyInfo: "v5"}
	sig, err := ses.SignTBS(tbs, p.signer.der, p.signer.key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		seal     *ses.Seal
		sig      *ses.Signature
		sealN    int64
		sigN     int64
		sealName string
	}{
		{name: "v5", seal: s, sig: sig, sealN: 5, sigN: 5, sealName: "version 5 (read as GB/T 38540-2020 v4)"},
		{name: "v4", seal: p.seal(t, ses.CertListCerts), sealN: 4, sealName: "GB/T 38540-2020 (v4)"},
	} {
		back, err := ses.ParseSeal(tc.seal.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if back.Version != ses.V4 || back.VersionNumber() != tc.sealN || ses.VersionName(back.VersionNumber()) != tc.sealName {
			t.Errorf("%s seal: structure %v, reported %d %q", tc.name, back.Version, back.VersionNumber(), ses.VersionName(back.VersionNumber()))
		}
		if _, err := back.CheckSignature(p.maker.cert); err != nil {
			t.Errorf("%s seal: %v", tc.name, err)
		}
		if tc.sig == nil {
			continue
		}
		bs, err := ses.ParseSignature(tc.sig.Raw)
		if err != nil {
			t.Fatal(err)
		}
		if bs.Version != ses.V4 || bs.VersionNumber() != tc.sigN || bs.TBS.Seal.VersionNumber() != tc.sealN {
			t.Errorf("%s signature: structure %v, reported %d", tc.name, bs.Version, bs.VersionNumber())
		}
		if err := bs.CheckSignature(p.signer.cert); err != nil {
			t.Errorf("%s signature: %v", tc.name, err)
		}
	}
	if ses.VersionName(1) != ses.V1.String() {
		t.Error("VersionName(1)")
	}
}

package ofd_test

import (
	"errors"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"elicense/certs/ofd"
	"elicense/internal/gm"
	vofd "elicense/verifier/ofd"
	"elicense/verifier/seal"
)

var samples = []struct {
	file      string
	types     []string
	refs      []int
	untrusted vofd.Verdict
}{
	{"tax-seal.ofd", []string{"Seal"}, []int{13}, vofd.UntrustedMaker},
	{"ofdrw-seal.ofd", []string{"Seal"}, []int{6}, vofd.UntrustedMaker},
	{"gmt0010-sign.ofd", []string{"Sign", "Sign"}, []int{16, 21}, vofd.UntrustedSigner},
}

func verdicts(r *vofd.Report) []vofd.Verdict {
	var out []vofd.Verdict
	for _, s := range r.Signatures {
		out = append(out, s.Verdict)
	}
	return out
}

func repeat(v vofd.Verdict, n int) []vofd.Verdict {
	out := make([]vofd.Verdict, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Each sample verifies as its README says: every reference digest equal,
// valid as of signing with the maker (Seal) or signer (Sign) trusted
// directly; untrusted without; expired when trusted but checked now.
func TestSamples(t *testing.T) {
	for _, tc := range samples {
		t.Run(tc.file, func(t *testing.T) {
			data := readSample(t, tc.file)
			trust := sampleTrust(t, data)
			r, err := vofd.Verify(data, vofd.Options{Trusted: trust, AtSigningTime: true})
			if err != nil {
				t.Fatal(err)
			}
			n := len(tc.types)
			if r.Verdict != vofd.Valid || !slices.Equal(verdicts(r), repeat(vofd.Valid, n)) {
				t.Fatalf("as of signing, trusted: %s %v %+v", r.Verdict, verdicts(r), r.Signatures)
			}
			for i, s := range r.Signatures {
				if s.Type != tc.types[i] || len(s.References) != tc.refs[i] || s.SignedAt.IsZero() || s.Signer == "" {
					t.Errorf("signature %d: %+v", i, s)
				}
				for _, ref := range s.References {
					if !ref.OK {
						t.Errorf("reference %s", ref.Path)
					}
				}
				if s.Type == "Seal" && (s.Format != "SES_Signature GB/T 38540-2020 (v4)" || s.SealVerdict != "VALID") {
					t.Errorf("seal format %q verdict %s", s.Format, s.SealVerdict)
				}
			}
			r, _ = vofd.Verify(data, vofd.Options{AtSigningTime: true})
			if r.Verdict != tc.untrusted || !slices.Equal(verdicts(r), repeat(tc.untrusted, n)) {
				t.Errorf("nothing trusted: %s %v", r.Verdict, verdicts(r))
			}
			r, _ = vofd.Verify(data, vofd.Options{Trusted: trust, At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
			if r.Verdict != vofd.Expired || !slices.Equal(verdicts(r), repeat(vofd.Expired, n)) {
				t.Errorf("trusted, verified in 2026: %s %v", r.Verdict, verdicts(r))
			}
		})
	}
}

func TestSampleDetails(t *testing.T) {
	data := readSample(t, "tax-seal.ofd")
	r, _ := vofd.Verify(data, vofd.Options{Trusted: sampleTrust(t, data), AtSigningTime: true})
	s := r.Signatures[0]
	if s.Maker != "国家税务总局电子印章制作系统" || s.SealName != "国家税务总局浙江省税务局" || !s.SignedAt.Equal(time.Date(2020, 7, 23, 13, 9, 7, 0, time.UTC)) {
		t.Errorf("tax-seal: %+v", s)
	}
	if len(r.Unprotected) != 0 || len(s.Unprotected) != 0 {
		t.Errorf("tax-seal protects every shown file: %q", r.Unprotected)
	}
	// gmt0010: the first signature leaves OFD.xml and the annotation list
	// unprotected; the second covers them, so the document has no gap.
	data = readSample(t, "gmt0010-sign.ofd")
	r, _ = vofd.Verify(data, vofd.Options{Trusted: sampleTrust(t, data), AtSigningTime: true})
	if got := r.Signatures[0].Unprotected; !slices.Equal(got, []string{"Doc_0/Annots/Annotations.xml", "OFD.xml"}) || len(r.Signatures[0].Warnings) != 1 {
		t.Errorf("Sign_0 unprotected %q", got)
	}
	if len(r.Signatures[1].Unprotected) != 0 || len(r.Unprotected) != 0 {
		t.Errorf("Sign_1 unprotected %q, document %q", r.Signatures[1].Unprotected, r.Unprotected)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "namespace") {
		t.Errorf("notes %q", r.Notes)
	}
}

// A changed byte in any protected file is DOCUMENT_MODIFIED for every
// signature protecting it and for no other; a changed byte of a
// Signature.xml fails that signature.
func TestModified(t *testing.T) {
	for _, tc := range samples {
		t.Run(tc.file, func(t *testing.T) {
			data := readSample(t, tc.file)
			trust := sampleTrust(t, data)
			opts := vofd.Options{Trusted: trust, AtSigningTime: true}
			base, _ := vofd.Verify(data, opts)
			protectors := map[string][]int{}
			for i, s := range base.Signatures {
				for _, ref := range s.References {
					protectors[ref.Path] = append(protectors[ref.Path], i)
				}
			}
			for file, by := range protectors {
				for _, how := range []string{"changed", "missing"} {
					mod := rezip(t, data, func(name string, b []byte) []byte {
						if name != file {
							return b
						}
						if how == "missing" {
							return nil
						}
						return changeByte(b)
					})
					r, err := vofd.Verify(mod, opts)
					if err != nil {
						if file == ofd.RootPath && how == "missing" {
							continue // no OFD.xml: not an OFD package
						}
						t.Fatalf("%s %s: %v", file, how, err)
					}
					for i, s := range r.Signatures {
						want := vofd.Valid
						if slices.Contains(by, i) {
							want = vofd.DocumentModified
						}
						if strings.HasSuffix(file, "Signature.xml") && s.Path == file {
							want = vofd.SignatureInvalid
							if how == "missing" {
								want = vofd.Malformed
							}
						}
						ownValue := file == path.Dir(s.Path)+"/SignedValue.dat"
						if ownValue && how == "changed" {
							// Its own signature data: whatever fails first.
							if s.Verdict == vofd.Valid {
								t.Errorf("%s changed: signature %d VALID", file, i)
							}
							continue
						}
						if ownValue {
							want = vofd.Malformed
						}
						if s.Verdict != want {
							t.Errorf("%s %s: signature %d is %s (%s), want %s", file, how, i, s.Verdict, s.Detail, want)
						}
					}
					if r.Verdict == vofd.Valid {
						t.Errorf("%s %s: document VALID", file, how)
					}
				}
			}
		})
	}
}

// A byte changed anywhere in a protected page, even one that breaks its
// XML, is DOCUMENT_MODIFIED, not MALFORMED.
func TestModifiedBreaksXML(t *testing.T) {
	data := readSample(t, "tax-seal.ofd")
	mod := rezip(t, data, func(name string, b []byte) []byte {
		if name == "Doc_0/Document.xml" {
			b = append([]byte(nil), b...)
			b[len(b)-2] = '<'
		}
		return b
	})
	r, err := vofd.Verify(mod, vofd.Options{Trusted: sampleTrust(t, data), AtSigningTime: true})
	if err != nil || r.Verdict != vofd.DocumentModified || r.Signatures[0].Verdict != vofd.DocumentModified || len(r.Warnings) == 0 {
		t.Fatalf("%v %s %+v", err, r.Verdict, r.Warnings)
	}
}

func TestUnreadable(t *testing.T) {
	for name, data := range map[string][]byte{"empty": nil, "pdf": []byte("%PDF-1.7\n")} {
		r, err := vofd.Verify(data, vofd.Options{})
		if !errors.Is(err, ofd.ErrZip) || r.Verdict != vofd.Malformed || r.Signatures == nil {
			t.Errorf("%s: %v %s", name, err, r.Verdict)
		}
	}
}

func TestUnsigned(t *testing.T) {
	data := rezip(t, readSample(t, "ofdrw-seal.ofd"), func(name string, b []byte) []byte {
		if name == ofd.RootPath {
			return []byte(strings.Replace(string(b), "<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>", "", 1))
		}
		return b
	})
	r, err := vofd.Verify(data, vofd.Options{})
	if err != nil || r.Verdict != vofd.NotSigned || len(r.Unprotected) != 4 {
		t.Fatalf("%v %s %q", err, r.Verdict, r.Unprotected)
	}
}

func TestVerdictSentences(t *testing.T) {
	for _, v := range vofd.Verdicts {
		if v.Message() == "" || v.MessageZH() == "" {
			t.Errorf("%s has no sentence", v)
		}
	}
}

var _ = gm.SM3

// Trusted but no longer valid now: EXPIRED only when the seal holds as of
// signing; a seal revoked since always is REVOKED now as then.
func TestExpiredDoesNotMaskRevoked(t *testing.T) {
	data := readSample(t, "ofdrw-seal.ofd")
	trust := sampleTrust(t, data)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	revoked := seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return true, time.Time{}, true })
	notRevoked := seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return false, time.Time{}, true })
	for _, tc := range []struct {
		name string
		opts vofd.Options
		want vofd.Verdict
	}{
		{"as of signing, revoked", vofd.Options{Trusted: trust, AtSigningTime: true, Status: revoked}, vofd.Revoked},
		{"now, revoked", vofd.Options{Trusted: trust, At: now, Status: revoked}, vofd.Revoked},
		{"now, not revoked", vofd.Options{Trusted: trust, At: now, Status: notRevoked}, vofd.Expired},
		{"now, not trusted", vofd.Options{At: now, Status: notRevoked}, vofd.UntrustedMaker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := vofd.Verify(data, tc.opts)
			if err != nil || r.Verdict != tc.want || r.Signatures[0].Verdict != tc.want {
				t.Fatalf("%v %s (%s), want %s", err, r.Verdict, r.Signatures[0].Detail, tc.want)
			}
		})
	}
}

// RevocationChecked only when every signature is a seal whose status the
// caller's source knew.
func TestRevocationChecked(t *testing.T) {
	known := seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return false, time.Time{}, true })
	unknown := seal.SealStatusFunc(func(string) (bool, time.Time, bool) { return false, time.Time{}, false })
	for _, tc := range []struct {
		file   string
		status seal.SealStatus
		want   bool
	}{
		{"tax-seal.ofd", known, true},
		{"tax-seal.ofd", unknown, false},
		{"tax-seal.ofd", nil, false},
		{"gmt0010-sign.ofd", known, false}, // Sign: no revocation source
	} {
		data := readSample(t, tc.file)
		r, _ := vofd.Verify(data, vofd.Options{Trusted: sampleTrust(t, data), AtSigningTime: true, Status: tc.status})
		if r.Verdict != vofd.Valid || r.RevocationChecked() != tc.want {
			t.Errorf("%s, status %v: %s, revocation checked %v", tc.file, tc.status != nil, r.Verdict, r.RevocationChecked())
		}
	}
}

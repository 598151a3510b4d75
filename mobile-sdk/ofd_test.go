package mobilesdk

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"elicense/internal/issuertest"
)

// TestFetchOFD fetches a claimed licence's OFD file from the real issuer
// with a device-signed proof, keeps it sealed beside the licence, and is
// refused once the licence is suspended.
func TestFetchOFD(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the issuer")
	}
	s := issuertest.Start(t)
	bl := s.Issue(t, "business-license")
	dir := t.TempDir()
	w, err := Open(dir, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	lic, err := w.Claim(s.URL+"/", bl.ClaimCode)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := w.OFD(lic.ID); err != nil || got != nil {
		t.Fatalf("before fetching: %d bytes, %v", len(got), err)
	}
	data, err := w.FetchOFD(lic.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkOFD(data, bl.ID); err != nil {
		t.Fatal(err)
	}
	// Kept, sealed, across a reopening.
	w2, err := Open(dir, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := w2.OFD(lic.ID); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("kept file: %d bytes, %v", len(got), err)
	}
	raw, _ := w2.st.Load(ofdFileName(lic.ID))
	if bytes.Contains(raw, []byte("OFD.xml")) {
		t.Fatal("the OFD file is stored in the clear")
	}
	if _, err := w.FetchOFD("1.2.3#x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown licence: %v", err)
	}
	if err := checkOFD(data, "1.2.3"); !errors.Is(err, ErrForgedAnswer) {
		t.Fatalf("a file naming another licence: %v", err)
	}
	if err := checkOFD([]byte("PK nothing"), bl.ID); !errors.Is(err, ErrForgedAnswer) {
		t.Fatalf("not an OFD package: %v", err)
	}

	// Suspended: the issuer no longer hands it out.
	if st := s.Call(t, "POST", "/v1/licences/"+bl.ID+"/suspend", s.Operator(t, "business-license"), map[string]string{"reason": "核查"}, nil); st != 200 {
		t.Fatalf("suspend: %d", st)
	}
	// The refusal is of a file, not of a claim, and says the status.
	_, err = w.FetchOFD(lic.ID)
	if !errors.Is(err, ErrNoSealedFile) || !errors.Is(err, ErrLicenceNotValid) || errors.Is(err, ErrClaimRefused) ||
		Reason(err) != ReasonNoSealedFile || !strings.Contains(err.Error(), "suspended") {
		t.Fatalf("suspended licence: %v (reason %s)", err, Reason(err))
	}
	// Deleting the licence deletes its file.
	if err := w.Delete(lic.ID); err != nil {
		t.Fatal(err)
	}
	if raw, _ := w.st.Load(ofdFileName(lic.ID)); raw != nil {
		t.Fatal("the OFD file outlived its licence")
	}
}

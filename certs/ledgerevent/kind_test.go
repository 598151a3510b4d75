package ledgerevent

import "testing"

// AboutLicence is true for exactly the kinds whose subject is a licence
// version or one of its copies.
func TestKindAboutLicence(t *testing.T) {
	about := map[Kind]bool{KindIssue: true, KindReissue: true, KindStatus: true, KindUnbind: true, KindClaim: true}
	for k := Kind(0); k < 255; k++ {
		if k.AboutLicence() != about[k] {
			t.Errorf("%v (%d): AboutLicence %v", k, k, k.AboutLicence())
		}
	}
}

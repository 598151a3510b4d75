package archive

import "elicense/certs/ledgerevent"

// A licence version's status at the period's end (Metadata.Status).
const (
	StatusValid      = "valid"
	StatusSuspended  = "suspended"
	StatusRevoked    = "revoked"
	StatusSuperseded = "superseded"
)

// StatusAfter returns the status of the licence version id once the
// ledger event ev is applied to status: an issue or a re-issue of id makes
// it valid, a re-issue superseding id superseded, a status change of id
// its new status; any other event leaves status as it is. Writer and
// verifier derive Metadata.Status with it, so the two cannot diverge.
func StatusAfter(status string, ev ledgerevent.Event, id string) string {
	switch x := ev.(type) {
	case *ledgerevent.Issue:
		if x.ID == id {
			return StatusValid
		}
	case *ledgerevent.Reissue:
		switch id {
		case x.ID:
			return StatusValid
		case x.Supersedes:
			return StatusSuperseded
		}
	case *ledgerevent.StatusChange:
		if x.ID == id {
			return x.To.String()
		}
	}
	return status
}

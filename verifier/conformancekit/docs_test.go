package conformancekit

import "testing"

func runStatus(t *testing.T, e *env, v vector) string {
	t.Fatalf("%s: status runner missing", v.ID)
	return ""
}
func runTrust(t *testing.T, e *env, v vector) string {
	t.Fatalf("%s: trust runner missing", v.ID)
	return ""
}
func runLedger(t *testing.T, e *env, v vector) string {
	t.Fatalf("%s: ledger runner missing", v.ID)
	return ""
}

package main

import (
	"bufio"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

// journeyEvidence is what an auditor fetches from the issuer to prove
// events offline: the trust bundle, the final checkpoint, and each entry
// with its inclusion proof against that checkpoint.
type journeyEvidence struct {
	bundle  string
	note    []byte
	entries [][]byte
	proofs  [][]tlog.Hash
}

// ledgerProofs: once the issuer has signed a checkpoint covering the
// whole ledger, the auditor fetches every entry and its inclusion proof,
// then checks them with nothing but the pinned root; every event of the
// journey is among them. A tampered entry fails the same check.
func (j *journey) ledgerProofs(t *testing.T) {
	ev := j.fetchEvidence(t)
	rootPEM, err := os.ReadFile(j.root)
	if err != nil {
		t.Fatal(err)
	}
	cp, events, err := verifyJourneyEvidence(rootPEM, ev)
	if err != nil {
		t.Fatalf("offline check of the ledger evidence: %v", err)
	}
	j.finalCheckpoint = cp
	j.checkIssuances(t, events)
	j.checkLifeEvents(t, events)

	forged := ev
	forged.entries = append([][]byte(nil), ev.entries...)
	e := append([]byte(nil), forged.entries[j.bl.LedgerIndex]...)
	e[len(e)-1] ^= 1
	forged.entries[j.bl.LedgerIndex] = e
	if _, _, err := verifyJourneyEvidence(rootPEM, forged); !errors.Is(err, tlog.ErrInclusionProof) {
		t.Fatalf("a tampered entry: %v, want an inclusion proof error", err)
	}
	t.Logf("%d ledger entries proved against the checkpoint of size %d, root %s", len(events), cp.Size, cp.Root)
}

// fetchEvidence waits for a checkpoint covering every entry the issuer
// holds (it signs one about a second after a change), then fetches the
// evidence for it.
func (j *journey) fetchEvidence(t *testing.T) journeyEvidence {
	t.Helper()
	var ev journeyEvidence
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ev.note = j.get(t, "/v1/ledger/checkpoint")
		size, _ := strconv.ParseUint(strings.Split(string(ev.note), "\n")[1], 10, 64)
		if size > 0 && size == j.ledgerSize(t) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint covers the ledger's %d entries:\n%s", j.ledgerSize(t), ev.note)
		}
	}
	ev.bundle = string(j.get(t, "/v1/trust"))
	size, _ := strconv.ParseUint(strings.Split(string(ev.note), "\n")[1], 10, 64)
	for i := range size {
		var entry struct{ Raw []byte }
		if st := j.call(t, "GET", fmt.Sprintf("/v1/ledger/entries/%d", i), "", nil, &entry); st != http.StatusOK {
			t.Fatalf("entry %d: HTTP %d", i, st)
		}
		var proof struct{ Proof [][]byte }
		if st := j.call(t, "GET", fmt.Sprintf("/v1/ledger/proof/inclusion?index=%d&tree_size=%d", i, size), "", nil, &proof); st != http.StatusOK {
			t.Fatalf("inclusion proof of %d: HTTP %d", i, st)
		}
		hs := make([]tlog.Hash, len(proof.Proof))
		for k, h := range proof.Proof {
			if len(h) != len(hs[k]) {
				t.Fatalf("inclusion proof of %d: a %d-byte hash", i, len(h))
			}
			hs[k] = tlog.Hash(h)
		}
		ev.entries, ev.proofs = append(ev.entries, entry.Raw), append(ev.proofs, hs)
	}
	return ev
}

// ledgerSize is the issuer's ledger size, from its metrics.
func (j *journey) ledgerSize(t *testing.T) uint64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(string(j.get(t, "/metrics"))))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "elicense_ledger_size "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("elicense_ledger_size %q", v)
			}
			return uint64(n)
		}
	}
	t.Fatal("the metrics have no elicense_ledger_size")
	return 0
}

func (j *journey) get(t *testing.T, path string) []byte {
	t.Helper()
	var b []byte
	if st := j.call(t, "GET", path, "", nil, &b); st != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", path, st, b)
	}
	return b
}

// verifyJourneyEvidence checks ev offline against the pinned root: the trust
// bundle under the root names the ledger key, which signed the
// checkpoint of this deployment's origin; each entry's leaf hash leads
// through its proof to the checkpoint's root; each entry decodes with
// the event catalogue. It returns the checkpoint and the events.
func verifyJourneyEvidence(rootPEM []byte, ev journeyEvidence) (tlog.Checkpoint, []ledgerevent.Event, error) {
	roots, err := gm.ParseCertificatesPEM(rootPEM)
	if err != nil || len(roots) != 1 {
		return tlog.Checkpoint{}, nil, fmt.Errorf("root: %v", err)
	}
	b, err := trust.Verify(ev.bundle, trust.VerifyOptions{Roots: roots})
	if err != nil {
		return tlog.Checkpoint{}, nil, fmt.Errorf("trust bundle: %w", err)
	}
	if b.LedgerKey == nil {
		return tlog.Checkpoint{}, nil, errors.New("the trust bundle names no ledger key")
	}
	lc, err := gm.ParseCertificate(b.LedgerKey.Cert)
	if err != nil {
		return tlog.Checkpoint{}, nil, err
	}
	pub, ok := lc.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return tlog.Checkpoint{}, nil, errors.New("the ledger key is not an SM2 key")
	}
	origin := ledgerOrigin(gm.KeyIDString(roots[0].Raw))
	v, err := tlog.NewNoteVerifier(origin, pub)
	if err != nil {
		return tlog.Checkpoint{}, nil, err
	}
	cp, err := tlog.VerifyCheckpoint(ev.note, origin, v)
	if err != nil {
		return tlog.Checkpoint{}, nil, fmt.Errorf("checkpoint: %w", err)
	}
	if uint64(len(ev.entries)) != cp.Size || len(ev.proofs) != len(ev.entries) {
		return cp, nil, fmt.Errorf("%d entries and %d proofs for a checkpoint of size %d", len(ev.entries), len(ev.proofs), cp.Size)
	}
	events := make([]ledgerevent.Event, len(ev.entries))
	for i, raw := range ev.entries {
		if err := tlog.VerifyInclusion(tlog.SM3.HashLeaf(raw), uint64(i), cp.Size, ev.proofs[i], cp.Root); err != nil {
			return cp, nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if events[i], err = ledgerevent.Decode(raw); err != nil {
			return cp, nil, fmt.Errorf("entry %d: %w", i, err)
		}
	}
	return cp, events, nil
}

// checkIssuances: each of the 17 licences' issuance is in the ledger at
// the index its answer gave, recording that licence and credential.
func (j *journey) checkIssuances(t *testing.T, events []ledgerevent.Event) {
	t.Helper()
	for class, l := range j.issued {
		is, ok := events[l.LedgerIndex].(*ledgerevent.Issue)
		if !ok || is.ID != l.ID || is.Agency != l.Agency || is.Credential != ledgerevent.Digest(gm.SM3([]byte(l.Credential))) {
			t.Errorf("%s: ledger entry %d is %#v, not its issuance", class, l.LedgerIndex, events[l.LedgerIndex])
		}
	}
	if len(j.issued) != 17 {
		t.Errorf("%d issuances checked, want 17", len(j.issued))
	}
}

// checkLifeEvents: the two claims (the CLI copy's credential exactly),
// the revocation, and one counter-verified event per receipt accepted.
func (j *journey) checkLifeEvents(t *testing.T, events []ledgerevent.Event) {
	t.Helper()
	cred := strings.TrimSpace(j.wallet(t, "show", "--credential", j.cliCopy).want(t, 0).stdout)
	claims, revoked, counted := map[string]bool{}, 0, 0
	verdicts := map[string]int{}
	for _, e := range events {
		switch e := e.(type) {
		case *ledgerevent.Claim:
			claims[e.ID] = true
			if e.ID == j.cliCopy && e.Credential != ledgerevent.Digest(gm.SM3([]byte(cred))) {
				t.Errorf("the claim of %s records another credential", e.ID)
			}
		case *ledgerevent.StatusChange:
			if e.ID == j.bl.ID && e.From == ledgerevent.StatusValid && e.To == ledgerevent.StatusRevoked && e.Reason == "吊销" {
				revoked++
			}
		case *ledgerevent.CounterVerified:
			if e.Counter == j.counterName && e.Agency == j.bl.Agency {
				counted++
				verdicts[e.Verdict]++
			}
		}
	}
	if !claims[j.cliCopy] || !claims[j.webCopy] || len(claims) != 2 {
		t.Errorf("claims in the ledger: %v, want %s and %s", claims, j.cliCopy, j.webCopy)
	}
	if revoked != 1 {
		t.Errorf("%d revocations of %s in the ledger, want 1", revoked, j.bl.ID)
	}
	if counted != j.receiptsAccepted || verdicts["VALID"] == 0 || verdicts["VALID_STATIC"] == 0 || verdicts["REVOKED"] == 0 {
		t.Errorf("%d counter-verified events (%v), want the %d receipts accepted, VALID, VALID_STATIC and REVOKED among them", counted, verdicts, j.receiptsAccepted)
	}
}

// ledgerVerify: on the stopped server's data, `elicense ledger verify`
// passes and ends at the root of the checkpoint the proofs were checked
// against.
func (j *journey) ledgerVerify(t *testing.T) {
	j.stopServer(t)
	out := elicense(t, nil, "ledger", "verify", "--data", j.data).want(t, exitOK).stdout
	m := regexp.MustCompile(`^OK (\S+): (\d+) entries, root ([0-9a-f]{64}), `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ledger verify:\n%s", out)
	}
	if n, _ := strconv.ParseUint(m[2], 10, 64); n != j.finalCheckpoint.Size || m[3] != j.finalCheckpoint.Root.String() || m[1] != j.finalCheckpoint.Origin {
		t.Fatalf("ledger verify: %s %s entries, root %s; the final checkpoint: %s %d, root %s", m[1], m[2], m[3],
			j.finalCheckpoint.Origin, j.finalCheckpoint.Size, j.finalCheckpoint.Root)
	}
	if out := elicense(t, nil, "ledger", "checkpoint", "--data", j.data).want(t, exitOK).stdout; !strings.HasPrefix(out, j.finalCheckpoint.String()) {
		t.Fatalf("the latest checkpoint on disk:\n%s\nwant the final one:\n%s", out, j.finalCheckpoint)
	}
}

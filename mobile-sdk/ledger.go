package mobilesdk

import (
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/ledger/tlog"
)

// ledgerProof is what lets a wallet show, offline, that its licence is in
// the issuer's ledger: the entry, a signed checkpoint covering it, the
// inclusion proof, and the ledger key (from the trust bundle verified at
// claim time).
type ledgerProof struct {
	Entry      []byte   `json:"entry"`       // the raw ledger entry
	TreeSize   uint64   `json:"tree_size"`   // size of the checkpoint's tree
	Proof      [][]byte `json:"proof"`       // RFC 9162 inclusion path
	Checkpoint string   `json:"checkpoint"`  // C2SP signed note
	LedgerCert []byte   `json:"ledger_cert"` // DER
}

// fetchLedgerProof waits (a little) for a checkpoint covering index and
// collects the proof. The issuer signs checkpoints at least once a second.
func fetchLedgerProof(client *http.Client, base string, b *trust.Bundle, index uint64, deadline time.Time) (*ledgerProof, error) {
	if b.LedgerKey == nil {
		return nil, fmt.Errorf("the trust bundle names no ledger key")
	}
	for {
		note, err := get(client, base+"/v1/ledger/checkpoint")
		if err != nil {
			return nil, err
		}
		cp, err := tlog.ParseCheckpoint(strings.SplitN(string(note), "\n\n", 2)[0] + "\n")
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
		if cp.Size > index {
			var e struct {
				Raw string `json:"raw"`
			}
			if err := getJSON(client, fmt.Sprintf("%s/v1/ledger/entries/%d", base, index), &e); err != nil {
				return nil, err
			}
			var pr struct {
				Proof []string `json:"proof"`
			}
			if err := getJSON(client, fmt.Sprintf("%s/v1/ledger/proof/inclusion?index=%d&tree_size=%d", base, index, cp.Size), &pr); err != nil {
				return nil, err
			}
			p := &ledgerProof{TreeSize: cp.Size, Checkpoint: string(note), LedgerCert: b.LedgerKey.Cert}
			if p.Entry, err = base64.StdEncoding.DecodeString(e.Raw); err != nil {
				return nil, fmt.Errorf("entry: %w", err)
			}
			for _, h := range pr.Proof {
				raw, err := base64.StdEncoding.DecodeString(h)
				if err != nil {
					return nil, fmt.Errorf("proof: %w", err)
				}
				p.Proof = append(p.Proof, raw)
			}
			return p, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no checkpoint covers entry %d yet", index)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// verify checks the proof offline: the checkpoint is signed by the ledger
// key, the entry is at index under its root, and the entry records the
// issuance of exactly this credential and licence.
func (p *ledgerProof) verify(index uint64, id, credential string) error {
	cp, err := verifyCheckpoint([]byte(p.Checkpoint), p.LedgerCert)
	if err != nil {
		return err
	}
	if cp.Size != p.TreeSize {
		return fmt.Errorf("proof is for tree size %d, the checkpoint for %d", p.TreeSize, cp.Size)
	}
	proof := make([]tlog.Hash, len(p.Proof))
	for i, h := range p.Proof {
		if len(h) != len(tlog.Hash{}) {
			return fmt.Errorf("proof hash %d has %d bytes", i, len(h))
		}
		proof[i] = tlog.Hash(h)
	}
	if err := tlog.SM3.VerifyInclusion(tlog.SM3.HashLeaf(p.Entry), index, p.TreeSize, proof, cp.Root); err != nil {
		return err
	}
	ev, err := ledgerevent.Decode(p.Entry)
	if err != nil {
		return err
	}
	sum := gm.SM3([]byte(credential))
	var got ledgerevent.Digest
	switch e := ev.(type) {
	case *ledgerevent.Claim: // the copy bound to this device
		got = e.Credential
	case *ledgerevent.Issue:
		got = e.Credential
	case *ledgerevent.Reissue:
		got = e.Credential
	}
	if ev.Head().Subject != id || got != ledgerevent.Digest(sum) {
		return fmt.Errorf("ledger entry %d records the %s of %s, not the issuance of this credential", index, ev.Kind(), ev.Head().Subject)
	}
	return nil
}

// ledgerPublicKey is the SM2 key of a ledger certificate (DER).
func ledgerPublicKey(certDER []byte) (*ecdsa.PublicKey, error) {
	cert, err := gm.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("ledger certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !gm.IsSM2PublicKey(pub) {
		return nil, fmt.Errorf("ledger certificate: not an SM2 key")
	}
	return pub, nil
}

// verifyCheckpoint checks a signed checkpoint note against the ledger
// certificate (DER) and returns the checkpoint.
func verifyCheckpoint(note, ledgerCert []byte) (tlog.Checkpoint, error) {
	pub, err := ledgerPublicKey(ledgerCert)
	if err != nil {
		return tlog.Checkpoint{}, err
	}
	origin, _, _ := strings.Cut(string(note), "\n")
	v, err := tlog.NewNoteVerifier(origin, pub)
	if err != nil {
		return tlog.Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	cp, err := tlog.VerifyCheckpoint(note, origin, v)
	if err != nil {
		return tlog.Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	return cp, nil
}

// VerifyInLedger checks, with no network, that licence id's issuance is
// in the issuer's ledger: a checkpoint signed by the ledger key named in
// the trust bundle checked at claim time, and the inclusion proof of the
// entry recording this credential. Licences claimed without a pinned trust
// root carry no proof (ErrNotFound).
func (w *Wallet) VerifyInLedger(id string) error {
	r, err := w.resolve(id)
	if err != nil {
		return err
	}
	if r.Ledger == nil {
		return wrapf(ErrNotFound, "licence %s was claimed without a trust root, so it has no ledger proof", id)
	}
	if err := r.Ledger.verify(r.LedgerIndex, r.ID, r.Credential); err != nil {
		return wrapf(ErrForgedAnswer, "ledger proof: %v", err)
	}
	return nil
}

func getJSON(client *http.Client, u string, out any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return wrapf(ErrInvalidArgument, "%v", err)
	}
	return do(client, req, out)
}

package main

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
	"elicense/issuer/service"
)

// TestNoPersonalDataInPublicEndpoints issues licences of several classes,
// claims a device copy, makes a personal seal for a resident-ID holder,
// suspends, reinstates, re-issues, revokes and unbinds, rotates a key,
// all with known personal data (holder names and codes, operator token
// subjects, a device key), then fetches every unauthenticated endpoint
// and finds none of those values in any answer: not as text, not in hex
// or base64, not inside a hex or base64 string of the answer. An
// admin opens the commitments of the ledger's entries for the same
// values, and the opening checks against the public entry.
func TestNoPersonalDataInPublicEndpoints(t *testing.T) {
	data := t.TempDir() + "/data"
	p := &privacyRun{data: data, s: startServer(t, data)}
	p.admin = readToken(t, data)
	p.samples = loadSamples(t)
	p.issueAll(t)
	p.claimDevice(t)
	p.makeSeal(t)
	p.changeStatus(t)
	p.rotateKey(t)
	p.positiveControl(t)
	size, paths := p.publicPaths(t)
	p.scan(t, paths)
	p.openCommitments(t, size)
	if st := p.s.call(t, "POST", "/v1/ledger/entries/0/open", p.tokens["business-license"], map[string]string{"field": "operator"}, nil); st != 403 {
		t.Errorf("an operator opened a commitment: %d", st)
	}
}

// privacyLicence is what the issuer answers for a licence, as far as
// TestNoPersonalDataInPublicEndpoints reads it.
type privacyLicence struct {
	ID         string `json:"id"`
	ClaimCode  string `json:"claim_code"`
	HolderCode string `json:"holder_code"`
	HolderName string `json:"holder_name"`
	LedgerIdx  uint64 `json:"ledger_index"`
}

// privacyRun is the state TestNoPersonalDataInPublicEndpoints carries
// from step to step; the steps run in the order the test calls them.
type privacyRun struct {
	s        *server
	data     string
	admin    string
	samples  map[string]map[string]string
	personal [][]byte
	tokens   map[string]string
	issued   map[string]privacyLicence
	devRaw   []byte
	copied   privacyLicence
	made     service.MadeSeal
}

// secret records v as personal data and returns it.
func (p *privacyRun) secret(v string) string {
	p.personal = append(p.personal, []byte(v))
	return v
}

func (p *privacyRun) tokenFor(t *testing.T, class string) string {
	var tok struct{ Token string }
	sub := p.secret("clerk-私密-" + class)
	if st := p.s.call(t, "POST", "/v1/tokens", p.admin, map[string]any{"subject": sub, "role": "operator", "agency": issuertest.AgencyOf(t, p.data, class), "ttl": "1h"}, &tok); st != 201 {
		t.Fatalf("token: %d", st)
	}
	return tok.Token
}

// issueAll issues a licence of each class, with an operator token of its
// agency.
func (p *privacyRun) issueAll(t *testing.T) {
	p.issued = map[string]privacyLicence{}
	p.tokens = map[string]string{}
	for _, class := range []string{"business-license", "food-operation-permit", "drivers-license", "marriage-certificate"} {
		p.tokens[class] = p.tokenFor(t, class)
		var l privacyLicence
		if st := p.s.call(t, "POST", "/v1/licences", p.tokens[class], map[string]any{"class": class, "fields": p.samples[class]}, &l); st != 201 {
			t.Fatalf("issue %s: %d", class, st)
		}
		if l.HolderCode == "" || l.HolderName == "" {
			t.Fatalf("%s: no holder in %+v", class, l)
		}
		p.secret(l.HolderCode)
		p.secret(l.HolderName)
		p.issued[class] = l
	}
}

// claimDevice claims a holder copy on a phone.
func (p *privacyRun) claimDevice(t *testing.T) {
	dl := p.issued["drivers-license"]
	dev, _ := gm.GenerateKey()
	devRaw, _ := gm.MarshalPublicKeyCompressed(dev.PublicKey())
	devFull, _ := gm.MarshalPublicKey(dev.PublicKey())
	p.personal = append(p.personal, devRaw, devFull)
	p.devRaw = devRaw
	var ch struct{ Challenge string }
	p.s.call(t, "POST", "/v1/claims/challenge", "", nil, &ch)
	sig, _ := gm.SignRS(dev, service.ClaimSigningInput(ch.Challenge, dl.ClaimCode, devRaw))
	if st := p.s.call(t, "POST", "/v1/claims", "", map[string]string{"code": dl.ClaimCode, "device_key": base64.RawURLEncoding.EncodeToString(devRaw),
		"challenge": ch.Challenge, "signature": base64.RawURLEncoding.EncodeToString(sig)}, &p.copied); st != 201 {
		t.Fatalf("claim: %d", st)
	}
}

// makeSeal makes a personal seal (法定代表人名章) for a resident-ID holder.
func (p *privacyRun) makeSeal(t *testing.T) {
	holderKey, _ := gm.GenerateKey()
	now := time.Now()
	tmpl := &gm.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "赵六私"}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: gm.KeyUsageDigitalSignature}
	certDER, err := gm.CreateCertificate(tmpl, tmpl, holderKey.PublicKey(), holderKey)
	if err != nil {
		t.Fatal(err)
	}
	if st := p.s.call(t, "POST", "/v1/seals", p.tokens["business-license"], service.SealRequest{HolderName: p.secret("赵六私"), HolderCode: p.secret("11010519491231002X"),
		Type: ses.TypeLegalRepName, SignerCert: certDER}, &p.made); st != 201 {
		t.Fatalf("seal: %d", st)
	}
}

// changeStatus makes status changes, an unbind, a seal revocation and a
// re-issue.
func (p *privacyRun) changeStatus(t *testing.T) {
	fp := p.issued["food-operation-permit"]
	for _, step := range []struct{ path, reason string }{
		{"/v1/licences/" + fp.ID + "/suspend", "暂扣"},
		{"/v1/licences/" + fp.ID + "/reinstate", ""},
		{"/v1/licences/" + fp.ID + "/revoke", "吊销"},
		{"/v1/licences/" + url.PathEscape(p.copied.ID) + "/unbind", ""},
		{"/v1/seals/" + p.made.ESID + "/revoke", "遗失"},
	} {
		tok := p.tokens["food-operation-permit"]
		if strings.Contains(step.path, "/seals/") {
			tok = p.tokens["business-license"]
		} else if strings.Contains(step.path, "/unbind") {
			tok = p.tokens["drivers-license"]
		}
		if st := p.s.call(t, "POST", step.path, tok, map[string]string{"reason": step.reason}, nil); st != 200 {
			t.Fatalf("%s: %d", step.path, st)
		}
	}
	bl := p.issued["business-license"]
	if st := p.s.call(t, "POST", "/v1/licences/"+bl.ID+"/reissue", p.tokens["business-license"], map[string]any{"fields": map[string]string{}}, nil); st != 200 && st != 201 {
		t.Fatalf("reissue: %d", st)
	}
}

// rotateKey rotates a key through the running server, as an admin.
func (p *privacyRun) rotateKey(t *testing.T) {
	bin, _ := binary()
	cmd := exec.Command(bin, "key", "rotate", "--agency", issuertest.AgencyOf(t, p.data, "marriage-certificate"),
		"--server", p.s.url, "--token-file", filepath.Join(p.data, "admin.token"))
	cmd.Env = issuertest.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("key rotate: %v\n%s", err, out)
	}
}

// positiveControl: the scan finds personal data where it belongs.
func (p *privacyRun) positiveControl(t *testing.T) {
	var own []byte
	p.s.call(t, "GET", "/v1/licences/"+p.issued["drivers-license"].ID, p.tokens["drivers-license"], nil, &own)
	if found := findPersonal(own, p.personal); found == "" {
		t.Fatal("the scan does not find the holder in an authenticated answer: it cannot fail")
	}
}

// publicPaths waits for a checkpoint that covers the whole ledger, checks
// that every kind of event is in it, and lists the unauthenticated paths
// to scan. It returns the ledger's size and the paths.
func (p *privacyRun) publicPaths(t *testing.T) (uint64, []string) {
	var ready struct {
		Size uint64 `json:"ledger_size"`
	}
	p.s.call(t, "GET", "/readyz", "", nil, &ready)
	if ready.Size < 12 {
		t.Fatalf("ledger has %d entries", ready.Size)
	}
	// Wait for a checkpoint that covers every entry, for the proofs.
	var cpSize uint64
	for deadline := time.Now().Add(5 * time.Second); cpSize < ready.Size && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var note []byte
		p.s.call(t, "GET", "/v1/ledger/checkpoint", "", nil, &note)
		fmt.Sscanf(strings.SplitN(string(note), "\n", 3)[1], "%d", &cpSize)
	}
	paths := []string{"/v1/ledger/checkpoint", "/v1/trust", "/v1/classes", "/v1/openapi.json", "/healthz", "/readyz", "/metrics",
		fmt.Sprintf("/v1/ledger/proof/consistency?old=1&new=%d", cpSize)}
	kinds := map[string]int{}
	for i := range ready.Size {
		paths = append(paths, fmt.Sprintf("/v1/ledger/entries/%d", i), fmt.Sprintf("/v1/ledger/proof/inclusion?index=%d&tree_size=%d", i, cpSize))
		var e struct {
			Kind string `json:"kind"`
		}
		p.s.call(t, "GET", fmt.Sprintf("/v1/ledger/entries/%d", i), "", nil, &e)
		kinds[e.Kind]++
	}
	for _, k := range []string{"issue", "claim", "seal-made", "status", "unbind", "seal-revoked", "reissue", "key-rotated"} {
		if kinds[k] == 0 {
			t.Errorf("no %s event in the ledger (%v)", k, kinds)
		}
	}
	var trustDoc []byte
	p.s.call(t, "GET", "/v1/trust", "", nil, &trustDoc)
	for _, id := range statusListIDs(t, trustDoc) {
		paths = append(paths, "/v1/status/"+id, "/v1/status/"+id+"?from=1")
	}
	return ready.Size, paths
}

// scan fetches every path without a token and looks for personal data in
// the answer.
func (p *privacyRun) scan(t *testing.T, paths []string) {
	for _, path := range paths {
		var body []byte
		st := p.s.call(t, "GET", path, "", nil, &body)
		if st >= 500 || (st != 200 && st != 304 && !strings.Contains(path, "from=")) {
			t.Errorf("GET %s: %d", path, st)
		}
		if found := findPersonal(body, p.personal); found != "" {
			t.Errorf("GET %s publishes personal data: %s", path, found)
		}
	}
}

// openCommitments: the admin opens the operator of the seal and the
// device of the claim; each opening checks against the public entry.
func (p *privacyRun) openCommitments(t *testing.T, size uint64) {
	for i := range size {
		var e struct {
			Kind string `json:"kind"`
			Raw  []byte `json:"raw"`
		}
		p.s.call(t, "GET", fmt.Sprintf("/v1/ledger/entries/%d", i), "", nil, &e)
		ev, err := ledgerevent.Decode(e.Raw)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		for _, f := range ledgerevent.CommittedFields(ev) {
			p.openField(t, i, ev, f)
		}
	}
}

// openField opens field f of entry i, the event ev, and checks the
// opening against it.
func (p *privacyRun) openField(t *testing.T, i uint64, ev ledgerevent.Event, f string) {
	var o service.OpenedField
	if st := p.s.call(t, "POST", fmt.Sprintf("/v1/ledger/entries/%d/open", i), p.admin, map[string]string{"field": f}, &o); st != 200 {
		t.Fatalf("open %d %s: %d", i, f, st)
	}
	salt, _ := hex.DecodeString(o.Salt)
	value := []byte(o.Value)
	if f == ledgerevent.FieldDevice {
		value, _ = hex.DecodeString(o.Value)
		if !bytes.Equal(value, p.devRaw) {
			t.Errorf("device opened to %x", value)
		}
	}
	if err := ledgerevent.VerifyOpening(ev, ledgerevent.Opening{Field: f, Salt: [16]byte(salt), Value: value}); err != nil {
		t.Errorf("entry %d %s: %v", i, f, err)
	}
}

// findPersonal reports the first personal value in body: as bytes, in
// hex or base64 of any kind, or inside a string of body that decodes
// from hex or base64 (a raw entry, a JWS part). "" if none.
func findPersonal(body []byte, personal [][]byte) string {
	hay := [][]byte{body}
	for _, tok := range strings.FieldsFunc(string(body), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+/=-_", r))
	}) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(tok); err == nil {
				hay = append(hay, b)
			}
		}
		if b, err := hex.DecodeString(tok); err == nil {
			hay = append(hay, b)
		}
	}
	for _, v := range personal {
		forms := [][]byte{v, []byte(hex.EncodeToString(v)), []byte(strings.ToUpper(hex.EncodeToString(v)))}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			forms = append(forms, []byte(enc.EncodeToString(v)))
		}
		if q, err := json.Marshal(string(v)); err == nil {
			forms = append(forms, q[1:len(q)-1]) // as JSON escapes it
		}
		for _, h := range hay {
			for _, f := range forms {
				if bytes.Contains(h, f) {
					return fmt.Sprintf("%q (as %q)", v, f)
				}
			}
		}
	}
	return ""
}

// statusListIDs lists the status lists a trust bundle names.
func statusListIDs(t *testing.T, doc []byte) []string {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(string(doc)), ".")
	if len(parts) != 3 {
		t.Fatalf("trust bundle is not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		StatusLists []struct {
			ID string `json:"id"`
		} `json:"status_lists"`
	}
	if err := json.Unmarshal(payload, &b); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range b.StatusLists {
		ids = append(ids, l.ID)
	}
	if len(ids) == 0 {
		t.Fatal("the trust bundle names no status list")
	}
	return ids
}

package mobilesdk

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"elicense/certs/credential"
	"elicense/certs/qr"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"

	"github.com/fxamacker/cbor/v2"
)

// claimContext prefixes what a device signs to claim a licence (the
// issuer's claim protocol, version 1).
const claimContext = "elicense/claim/v1\x00"

// claimSigningInput is what the device signs to prove possession of its
// key: "elicense/claim/v1" 0x00 ‖ challenge 0x00 ‖ code 0x00 ‖ the device
// key bytes exactly as sent (compressed point). It must equal the
// issuer's; TestClaimAgainstIssuer checks that against the real server.
func claimSigningInput(challenge, code string, deviceKey []byte) []byte {
	return append([]byte(claimContext+challenge+"\x00"+code+"\x00"), deviceKey...)
}

// maxAnswer bounds what the wallet reads from the issuer.
const maxAnswer = 4 << 20

// claimAnswer is the issuer's 201 answer to POST /v1/claims.
type claimAnswer struct {
	ID          string          `json:"id"`
	Class       string          `json:"class"`
	HolderCode  string          `json:"holder_code"`
	HolderName  string          `json:"holder_name"`
	Status      string          `json:"status"`
	Credential  string          `json:"credential"`
	LedgerIndex uint64          `json:"ledger_index"`
	CopyOf      string          `json:"copy_of"`
	Device      string          `json:"device"`
	Holding     json.RawMessage `json:"holding"`
}

// Claim claims a licence from the issuer at serverURL with the holder's
// one-time claim code (领证码): it fetches a challenge, signs it with the
// device key, and receives a copy of the licence bound to that key. The
// answer is checked before anything is stored: the credential's cnf and
// the QR core's device key must be this device's key and the core must
// commit to this credential (and, with a pinned trust root, the
// credential and core must verify against the issuer's trust bundle);
// otherwise ErrForgedAnswer. A refused claim (code unknown, used or
// expired) is a *ClaimError matching ErrClaimRefused. The licences
// already in the wallet are never touched by a failed claim.
func (w *Wallet) Claim(serverURL, code string) (*Licence, error) {
	base, err := issuerBase(serverURL)
	if err != nil {
		return nil, err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, wrapf(ErrBadClaimCode, "empty claim code")
	}
	w.mu.Lock()
	client := w.client
	w.mu.Unlock()

	var ch struct {
		Challenge string `json:"challenge"`
	}
	if err := postJSON(client, base+"/v1/claims/challenge", nil, &ch); err != nil {
		return nil, err
	}
	if ch.Challenge == "" {
		return nil, wrapf(ErrNetwork, "the issuer sent no challenge")
	}
	sig, err := gm.SignRS(w.key, claimSigningInput(ch.Challenge, code, w.pub))
	if err != nil {
		return nil, err
	}
	req := map[string]string{
		"code":       code,
		"device_key": base64.RawURLEncoding.EncodeToString(w.pub),
		"challenge":  ch.Challenge,
		"signature":  base64.RawURLEncoding.EncodeToString(sig),
	}
	var ans claimAnswer
	if err := postJSON(client, base+"/v1/claims", req, &ans); err != nil {
		return nil, err
	}
	h, err := w.checkAnswer(&ans)
	if err != nil {
		return nil, err
	}
	root, err := w.TrustRoot()
	if err != nil {
		return nil, err
	}
	verified := false
	var proof *ledgerProof
	r := &record{
		V: recordFormat, ID: ans.ID, Class: ans.Class, HolderName: ans.HolderName, HolderCode: ans.HolderCode,
		Status: ans.Status, CopyOf: ans.CopyOf, LedgerIndex: ans.LedgerIndex, Server: base,
		ClaimedAt: w.now().Unix(), Credential: ans.Credential, Holding: ans.Holding,
	}
	if root != nil {
		b, err := w.verifyWithTrust(client, base, root, &ans, h)
		if err != nil {
			return nil, err
		}
		verified = true
		// The status from the signed list, as Refresh reads it; an
		// unreachable list leaves it unknown rather than failing the claim.
		rf := &refresher{client: client, now: w.now(), bundles: map[string]*trust.Bundle{base: b}, lists: map[string]*statuslist.Signed{}}
		st, signed, err := rf.status(base, ans.Credential, 0)
		switch {
		case err == nil:
			setStatus(r, st, signed, w.now())
		case !errors.Is(err, ErrNetwork):
			return nil, err
		}
		// The proof is a bonus for detailed checks later: a ledger that
		// has not yet signed a covering checkpoint does not fail the claim.
		if p, err := fetchLedgerProof(client, base, b, ans.LedgerIndex, time.Now().Add(3*time.Second)); err == nil {
			if err := p.verify(ans.LedgerIndex, ans.ID, ans.Credential); err != nil {
				return nil, wrapf(ErrForgedAnswer, "ledger proof: %v", err)
			}
			proof = p
		}
	}
	r.Verified, r.Ledger = verified, proof
	w.mu.Lock()
	err = w.save(r)
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	l := r.licence()
	l.Index = w.indexOf(r.ID)
	return l, nil
}

// issuerBase normalises an issuer's base URL.
func issuerBase(serverURL string) (string, error) {
	base := strings.TrimRight(strings.TrimSpace(serverURL), "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", wrapf(ErrBadServerURL, "issuer URL %q is not http(s)://host", serverURL)
	}
	return base, nil
}

// checkAnswer checks what can be checked without the issuer's keys: the
// answer is complete, bound to this device, and the QR core commits to
// this credential.
func (w *Wallet) checkAnswer(ans *claimAnswer) (*qr.Holding, error) {
	forged := func(format string, args ...any) error { return wrapf(ErrForgedAnswer, format, args...) }
	if ans.ID == "" || ans.Credential == "" {
		return nil, forged("the answer lacks the licence ID or credential")
	}
	h, err := parseHolding(ans.Holding)
	if err != nil {
		return nil, forged("QR core: %v", err)
	}
	p, err := parseCredentialPayload(ans.Credential)
	if err != nil {
		return nil, forged("credential: %v", err)
	}
	if p.Cnf == nil {
		return nil, forged("the credential is not bound to a device (no cnf)")
	}
	x, errX := base64.RawURLEncoding.DecodeString(p.Cnf.JWK.X)
	y, errY := base64.RawURLEncoding.DecodeString(p.Cnf.JWK.Y)
	if errX != nil || errY != nil || p.Cnf.JWK.Kty != "EC" || p.Cnf.JWK.Crv != "SM2" || len(x) != 32 || len(y) != 32 {
		return nil, forged("the credential's cnf is not an SM2 key")
	}
	ours, err := gm.MarshalPublicKey(w.key.PublicKey()) // 0x04 ‖ X ‖ Y
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(x, ours[1:33]) != 1 || subtle.ConstantTimeCompare(y, ours[33:65]) != 1 {
		return nil, forged("the credential is bound to another device key")
	}
	dev, err := coreDeviceKey(h.Core)
	if err != nil {
		return nil, forged("QR core: %v", err)
	}
	if !bytes.Equal(dev, w.pub) {
		return nil, forged("the QR core is bound to another device key")
	}
	sum := gm.SM3([]byte(ans.Credential))
	if h.Credential != hex.EncodeToString(sum[:]) {
		return nil, forged("the QR core commits to another credential")
	}
	if ans.Device != "" && ans.Device != hex.EncodeToString(w.pub) {
		return nil, forged("the issuer names another device")
	}
	return h, nil
}

// coreDeviceKey returns key 8 of a QR core (docs/formats.md §2.2).
func coreDeviceKey(core []byte) ([]byte, error) {
	var m map[uint64]cbor.RawMessage
	if err := cbor.Unmarshal(core, &m); err != nil {
		return nil, err
	}
	raw, ok := m[8]
	if !ok {
		return nil, fmt.Errorf("no device key")
	}
	var key []byte
	if err := cbor.Unmarshal(raw, &key); err != nil {
		return nil, err
	}
	return key, nil
}

// verifyWithTrust fetches the issuer's trust bundle, verifies it against
// the pinned root, and verifies the credential and the QR core with it.
func (w *Wallet) verifyWithTrust(client *http.Client, base string, rootPEM []byte, ans *claimAnswer, h *qr.Holding) (*trust.Bundle, error) {
	roots, err := gm.ParseCertificatesPEM(rootPEM)
	if err != nil {
		return nil, &StoreError{File: trustFile, Corrupt: true, err: err}
	}
	doc, err := get(client, base+"/v1/trust")
	if err != nil {
		return nil, err
	}
	now := w.now()
	b, err := trust.Verify(string(doc), trust.VerifyOptions{Roots: roots, Now: now})
	if err != nil {
		return nil, wrapf(ErrForgedAnswer, "trust bundle: %v", err)
	}
	lic, err := credential.Verify(ans.Credential, credential.VerifyOptions{Keys: b.Resolver(), Now: now})
	if err != nil {
		return nil, wrapf(ErrForgedAnswer, "credential: %v", err)
	}
	if lic.Device == nil || !lic.Device.Equal(w.key.Public()) {
		return nil, wrapf(ErrForgedAnswer, "the verified credential is bound to another device")
	}
	text, err := h.Present(w.key, now)
	if err != nil {
		return nil, wrapf(ErrForgedAnswer, "QR core: %v", err)
	}
	tok, err := qr.Decode(text)
	if err != nil {
		return nil, wrapf(ErrForgedAnswer, "QR core: %v", err)
	}
	if _, err := tok.Verify(qr.VerifyOptions{Keys: b.Resolver(), Now: now}); err != nil {
		return nil, wrapf(ErrForgedAnswer, "QR core: %v", err)
	}
	return b, nil
}

// apiError is the issuer's error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func postJSON(client *http.Client, u string, body, out any) error {
	var r io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(http.MethodPost, u, r)
	if err != nil {
		return wrapf(ErrInvalidArgument, "%v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return do(client, req, out)
}

func get(client *http.Client, u string) ([]byte, error) { return getWith(client, u, false) }

// getFresh is get past any HTTP cache (the issuer lets caches keep its
// signed documents for a minute; a browser would otherwise hand a status
// refresh the list it read before).
func getFresh(client *http.Client, u string) ([]byte, error) { return getWith(client, u, true) }

func getWith(client *http.Client, u string, fresh bool) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, wrapf(ErrInvalidArgument, "%v", err)
	}
	if fresh {
		req.Header.Set("Cache-Control", "no-cache")
		req.Header.Set("Pragma", "no-cache")
	}
	var raw []byte
	if err := do(client, req, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// do sends req; a 2xx body goes to out (raw bytes if out is *[]byte,
// JSON otherwise), a 4xx with an API error body is a *ClaimError.
func do(client *http.Client, req *http.Request, out any) error {
	resp, err := client.Do(req)
	if err != nil {
		return wrapf(ErrNetwork, "%v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return wrapf(ErrNetwork, "reading the answer: %v", err)
	}
	if len(data) > maxAnswer {
		return wrapf(ErrNetwork, "the answer is larger than %d bytes", maxAnswer)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e apiError
		switch {
		case json.Unmarshal(data, &e) == nil && e.Code != "" && resp.StatusCode >= 400 && resp.StatusCode < 500:
			return &ClaimError{Status: int64(resp.StatusCode), Code: e.Code, Field: e.Field, Message: e.Message}
		case resp.StatusCode == http.StatusTooManyRequests:
			return &ClaimError{Status: http.StatusTooManyRequests, Code: "rate_limited"}
		case resp.StatusCode >= 500:
			return wrapf(ErrServer, "%s %s: HTTP %d", req.Method, req.URL.Path, resp.StatusCode)
		}
		return wrapf(ErrNetwork, "%s %s: HTTP %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return wrapf(ErrNetwork, "%s %s: the answer is not JSON: %v", req.Method, req.URL.Path, err)
	}
	return nil
}

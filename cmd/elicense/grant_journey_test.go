package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"elicense/certs/consent"
	"elicense/certs/credential"
	"elicense/certs/statuslist"
	"elicense/certs/trust"
	"elicense/internal/gm"
	"elicense/internal/issuertest"
)

// TestGrantJourney runs 授权用证 across the three programs, as their
// users do: an admin registers a relying party; the party asks for three
// fields of a 营业执照; the holder approves two from elicense-wallet; the
// party fetches the credential and verifies it and its disclosures with
// nothing but the pinned root, the public trust bundle and status list;
// the holder revokes the grant and the next fetch is refused; a counter
// verifies the licence and uploads its receipt; the holder's wallet lists
// every use, each proved against the ledger, the counter's among them;
// the holder answers a second request from the web wallet the issuer
// serves, in Chromium (webConsent); the agency revokes the licence and a
// new request cannot be granted.
func TestGrantJourney(t *testing.T) {
	j := newGrantJourney(t)
	j.claim(t)
	j.registerRP(t)
	req := j.request(t, "repeat")
	out := j.wallet(t, "consent", "--fields", "name,domicile", "--yes", req.Link).want(t, 0).stdout
	for _, want := range []string{"上海市食品经营许可审批系统", "食品经营许可证核发", "核对住所", "granted g_"} {
		if !strings.Contains(out, want) {
			t.Fatalf("consent did not show %q:\n%s", want, out)
		}
	}
	grant := j.granted(t, req.ID)
	j.fetchAndVerify(t, grant, map[string]string{"name": j.fields["name"], "domicile": j.fields["domicile"]})
	j.fetchAndVerify(t, grant, map[string]string{"name": j.fields["name"], "domicile": j.fields["domicile"]}) // repeat use

	j.wallet(t, "grants", "revoke", grant).want(t, 0)
	if st, code := j.fetch(t, grant, nil); st != 410 || code != "GRANT_REVOKED" {
		t.Fatalf("fetch after the holder revoked: %d %s, want 410 GRANT_REVOKED", st, code)
	}

	j.counterCheck(t)
	uses := j.wallet(t, "uses", j.copyID).want(t, 0).stdout
	for _, kind := range []string{"claim", "grant", "grant-use", "grant-revoked", "counter-verified", "浦东新区市民中心 3号窗口"} {
		if !strings.Contains(uses, kind) {
			t.Errorf("uses lack %q:\n%s", kind, uses)
		}
	}
	if strings.Contains(uses, "✗") || strings.Count(uses, "✓") < 6 {
		t.Errorf("uses not all proved against the ledger:\n%s", uses)
	}
	t.Run("web wallet", j.webConsent)

	if st := j.s.Call(t, "POST", "/v1/licences/"+j.issued.ID+"/revoke", j.s.Admin, map[string]string{"reason": "吊销"}, nil); st != 200 {
		t.Fatalf("revoking the licence: %d", st)
	}
	req = j.request(t, "once")
	r := j.wallet(t, "consent", "--yes", req.Link)
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "LICENCE_NOT_VALID") && !strings.Contains(r.stderr+r.stdout, "吊销") {
		t.Fatalf("a revoked licence was granted, or said nothing of it: %+v", r)
	}
	var rs struct{ State string }
	j.s.Call(t, "GET", "/v1/requests/"+req.ID, "", nil, &rs)
	if rs.State != "pending" {
		t.Fatalf("request after a refused grant: %s, want pending", rs.State)
	}
	t.Logf("uses:\n%s", uses)
}

// grantJourney is what TestGrantJourney's steps share.
type grantJourney struct {
	s         *issuertest.Server
	walletBin string
	verifyBin string
	walletDir string
	store     string
	env       []string
	root      string
	issued    issuertest.Issued
	fields    map[string]string
	copyID    string
	rpKey     *gm.PrivateKey
}

const journeyRP = "sh-scjg-food-permit"

func newGrantJourney(t *testing.T) *grantJourney {
	t.Helper()
	dir := t.TempDir()
	wb, err := issuertest.Build(dir, "./cmd/elicense-wallet", "elicense-wallet")
	if err != nil {
		t.Fatal(err)
	}
	vb, err := buildVerify()
	if err != nil {
		t.Fatal(err)
	}
	// Before the issuer binary is built, which embeds it.
	if err := buildWalletWasm(); err != nil {
		t.Fatal(err)
	}
	s := issuertest.Start(t)
	key, _ := gm.GenerateKey()
	return &grantJourney{s: s, walletBin: wb, verifyBin: vb, walletDir: filepath.Join(dir, "wallet"), store: filepath.Join(dir, "counter"),
		env: []string{"ELICENSE_WALLET_PASSPHRASE=correct horse", "LANG=zh_CN.UTF-8"}, root: filepath.Join(s.Data, "pki", "root.crt.pem"),
		fields: issuertest.Sample(t, "business-license"), rpKey: key}
}

func (j *grantJourney) run(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	return runBinary(t, bin, append(os.Environ(), env...), args...)
}

// runBinary runs bin with args in the environment env (whole).
func runBinary(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func (j *grantJourney) wallet(t *testing.T, args ...string) result {
	t.Helper()
	return j.run(t, j.walletBin, j.env, append([]string{args[0], "--dir", j.walletDir}, args[1:]...)...)
}

func (j *grantJourney) verify(t *testing.T, args ...string) result {
	t.Helper()
	return j.run(t, j.verifyBin, nil, append([]string{args[0], "--store", j.store}, args[1:]...)...)
}

// claim issues a 营业执照 and claims it into the wallet.
func (j *grantJourney) claim(t *testing.T) {
	t.Helper()
	j.issued = j.s.Issue(t, "business-license")
	out := j.wallet(t, "claim", "--json", "--server", j.s.URL, "--trust-root", j.root, j.issued.ClaimCode).want(t, 0).stdout
	var claimed struct{ ID string }
	if err := json.Unmarshal([]byte(out), &claimed); err != nil {
		t.Fatalf("claim --json: %v\n%s", err, out)
	}
	j.copyID = claimed.ID
	if !strings.HasPrefix(j.copyID, j.issued.ID+"#") {
		t.Fatalf("claimed %q", out)
	}
}

// registerRP registers the relying party for three fields of a 营业执照.
func (j *grantJourney) registerRP(t *testing.T) {
	t.Helper()
	der, _ := gm.MarshalPKIXPublicKey(j.rpKey.PublicKey())
	reg := map[string]any{"id": journeyRP, "name": "上海市食品经营许可审批系统", "org_code": "11310000PDY100010H",
		"org_name": "上海市市场监督管理局", "key": base64.StdEncoding.EncodeToString(der),
		"matters": []any{map[string]any{"code": "310100001000", "name": "食品经营许可证核发", "classes": []any{map[string]any{
			"class": "business-license", "fields": []any{
				map[string]string{"key": "name", "purpose": "核对经营者名称"},
				map[string]string{"key": "legal_rep", "purpose": "核对法定代表人"},
				map[string]string{"key": "domicile", "purpose": "核对住所"}}}}}}}
	if st := j.s.Call(t, "POST", "/v1/relying-parties", j.s.Admin, reg, nil); st != 201 {
		t.Fatalf("registering the relying party: %d", st)
	}
}

// rp sends a request signed with the party's proof.
func (j *grantJourney) rp(t *testing.T, method, path string, body []byte, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, j.s.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	u, _ := url.Parse(path)
	p, err := consent.SignProof(j.rpKey, consent.ProofClaims{Subject: journeyRP, Method: method, Path: u.Path, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", consent.AuthScheme+" "+p)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e struct{ Code string }
	json.Unmarshal(data, &e)
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode, e.Code
}

type journeyRequest struct {
	ID   string `json:"id"`
	Link string `json:"link"`
}

// request has the party ask for three fields.
func (j *grantJourney) request(t *testing.T, use string) journeyRequest {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"matter": "310100001000", "class": "business-license",
		"fields": []string{"name", "legal_rep", "domicile"}, "duration": 3600, "use": use})
	var r journeyRequest
	if st, code := j.rp(t, "POST", "/v1/requests", body, &r); st != 201 || r.Link == "" {
		t.Fatalf("request: %d %s %+v", st, code, r)
	}
	return r
}

// granted polls the request as the party does and returns its grant.
func (j *grantJourney) granted(t *testing.T, id string) string {
	t.Helper()
	var rs struct {
		State string `json:"state"`
		Grant string `json:"grant"`
	}
	if st := j.s.Call(t, "GET", "/v1/requests/"+id, "", nil, &rs); st != 200 || rs.State != "granted" || rs.Grant == "" {
		t.Fatalf("request after consent: %d %+v", st, rs)
	}
	return rs.Grant
}

type fetched struct {
	Credential string `json:"credential"`
	Consent    string `json:"consent"`
	Request    string `json:"request"`
}

func (j *grantJourney) fetch(t *testing.T, grant string, out *fetched) (int, string) {
	t.Helper()
	return j.rp(t, "GET", "/v1/grants/"+grant+"/credential", nil, out)
}

// fetchAndVerify fetches the grant's credential and checks it as the
// party does, with only the pinned root and public documents: the trust
// bundle verified under the root, the status list under the bundle.
func (j *grantJourney) fetchAndVerify(t *testing.T, grant string, want map[string]string) {
	t.Helper()
	var f fetched
	if st, code := j.fetch(t, grant, &f); st != 200 {
		t.Fatalf("fetch: %d %s", st, code)
	}
	rootPEM, _ := os.ReadFile(j.root)
	roots, err := gm.ParseCertificatesPEM(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	b, err := trust.Verify(string(j.get(t, "/v1/trust")), trust.VerifyOptions{Roots: roots})
	if err != nil {
		t.Fatalf("trust bundle: %v", err)
	}
	status := func(ref credential.StatusRef) (statuslist.Status, error) {
		sl, ok := b.StatusListByURI(ref.URI)
		if !ok {
			t.Fatalf("the bundle does not know status list %s", ref.URI)
		}
		resp, err := http.Get(sl.URI)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		doc, _ := io.ReadAll(resp.Body)
		signed, err := statuslist.Parse(string(doc), statuslist.VerifyOptions{URI: sl.URI, Keys: b.StatusKeys(sl.ID)})
		if err != nil {
			return 0, err
		}
		return signed.Status(int(ref.Index))
	}
	v, err := consent.VerifyGrantCredential(f.Credential, f.Consent, f.Request, consent.VerifyOptions{Bundle: b, RP: journeyRP, Grant: grant, Status: status})
	if err != nil {
		t.Fatalf("the party's own check of the credential: %v", err)
	}
	if len(v.Fields) != len(want) {
		t.Fatalf("disclosed %v, want exactly %v", v.Fields, want)
	}
	for k, w := range want {
		if v.Fields[k] != w {
			t.Errorf("disclosed %s = %q, want %q", k, v.Fields[k], w)
		}
	}
	if strings.Contains(f.Credential, base64.RawURLEncoding.EncodeToString([]byte(j.fields["legal_rep"]))) || strings.Contains(f.Credential, j.fields["legal_rep"]) {
		t.Error("the credential carries the field the holder did not approve")
	}
}

func (j *grantJourney) get(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := http.Get(j.s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

// counterCheck has an online counter verify the holder's presentation
// and upload its receipt under a counter token.
func (j *grantJourney) counterCheck(t *testing.T) {
	t.Helper()
	j.verify(t, "trust", "add", j.root).want(t, 0)
	j.verify(t, "sync", "--from", j.s.URL).want(t, 0)
	text := strings.TrimSpace(j.wallet(t, "present", "--text", j.copyID).want(t, 0).stdout)
	if r := j.verify(t, "check", text).want(t, 0); !strings.Contains(r.stdout, "VALID") {
		t.Fatalf("counter check: %+v", r)
	}
	var tok struct{ Token string }
	if st := j.s.Call(t, "POST", "/v1/tokens", j.s.Admin, map[string]any{"subject": "浦东新区市民中心 3号窗口", "role": "counter",
		"agency": issuertest.AgencyOf(t, j.s.Data, "business-license"), "ttl": "1h"}, &tok); st != 201 {
		t.Fatalf("counter token: %d", st)
	}
	tf := filepath.Join(filepath.Dir(j.store), "counter.token")
	os.WriteFile(tf, []byte(tok.Token+"\n"), 0o600)
	r := j.verify(t, "receipts", "upload", "--to", j.s.URL, "--token-file", tf).want(t, 0)
	if !regexp.MustCompile(`accepted 1\b`).MatchString(r.stdout) {
		t.Fatalf("receipts upload: %+v", r)
	}
}

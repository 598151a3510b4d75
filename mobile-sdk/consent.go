package mobilesdk

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/trust"
)

// Use of a grant (docs/consent.md §4).
const (
	UseOnce   = "once"   // the relying party may fetch the licence data once
	UseRepeat = "repeat" // any number of times until the grant ends
)

// ConsentRequest is a relying party's request for a licence's data, as
// OpenRequest verified it (docs/consent.md §4): who asks, for which
// service matter, which fields and why, for how long, once or repeatedly.
// An app shows exactly this before the holder approves or refuses.
type ConsentRequest struct {
	ID         string // r_…
	Server     string // the issuer that relays it
	RPID       string // the relying party's registered id
	RPName     string // its name, e.g. 上海市食品经营许可审批系统
	OrgCode    string // 统一社会信用代码 of the organisation it belongs to
	OrgName    string // the organisation, e.g. 上海市市场监督管理局
	MatterCode string // the service matter (事项) code
	MatterName string // its name, e.g. 食品经营许可证核发
	Class      string // the licence class asked for (catalogue key)
	ClassName  string // its name, e.g. 营业执照
	Fields     string // the requested field keys, comma-separated, in the request's order
	// FieldsJSON is the requested fields as a JSON array of
	// {"key","name","purpose"} (also available through Field).
	FieldsJSON string
	Duration   int64  // seconds a grant would last
	Use        string // UseOnce or UseRepeat
	IssuedAt   int64  // Unix seconds
	ExpiresAt  int64  // Unix seconds; the holder must answer before
	// State is the issuer's: "pending", "granted", "refused" or
	// "expired". Only a pending request can be answered.
	State string
	Grant string // the grant made, when State is "granted"
	// Licences are the wallet's licences that can answer the request
	// (same class, from this issuer, bound to this device, presentable),
	// comma-separated IDs; empty if none.
	Licences string
	Signed   string // the signed request (compact JWS) exactly as verified

	fields []*RequestField
	ok     bool // made by OpenRequest
}

// RequestField is one field a relying party asks for.
type RequestField struct {
	Key     string // catalogue field key
	Name    string // its name, e.g. 法定代表人
	Purpose string // why the party asks for it, as registered
}

// FieldCount is the number of requested fields.
func (r *ConsentRequest) FieldCount() int64 { return int64(len(r.fields)) }

// Field returns the i-th requested field (0 ≤ i < FieldCount), or nil.
func (r *ConsentRequest) Field(i int64) *RequestField {
	if i < 0 || i >= int64(len(r.fields)) {
		return nil
	}
	return r.fields[i]
}

// DurationText is the grant's duration for the holder, in lang ("zh",
// the default, or "en"): "7 天", "1 hour".
func (r *ConsentRequest) DurationText(lang string) string {
	return humanDuration(time.Duration(r.Duration)*time.Second, lang)
}

// UseText says once or repeatedly, in lang.
func (r *ConsentRequest) UseText(lang string) string {
	switch {
	case r.Use == UseOnce && isEnglish(lang):
		return "once"
	case r.Use == UseOnce:
		return "仅一次"
	case isEnglish(lang):
		return "any number of times until the authorisation ends"
	}
	return "有效期内可多次使用"
}

// OpenRequest fetches and verifies the request a relying party shows as
// a QR or link: its request_uri (https://issuer/v1/requests/r_…) or
// wallet link (https://issuer/wallet/?request=r_…). The signed request
// must verify with the ledger key of the issuer's trust bundle under the
// pinned root, not be expired, name that issuer, and ask only for fields
// of its class; otherwise ErrForgedAnswer. It needs a pinned trust root.
// ConsentRequest.Licences lists the licences that can answer it; none is
// not an error (the app tells the holder to claim one first).
func (w *Wallet) OpenRequest(link string) (*ConsentRequest, error) {
	base, id, err := parseRequestLink(link)
	if err != nil {
		return nil, err
	}
	rf, err := w.newRefresher()
	if err != nil {
		return nil, err
	}
	b, err := rf.bundle(base)
	if err != nil {
		return nil, err
	}
	ledgerKey, err := bundleLedgerKey(b)
	if err != nil {
		return nil, err
	}
	var ans struct {
		Request string `json:"request"`
		State   string `json:"state"`
		Grant   string `json:"grant"`
	}
	if err := getJSON(rf.client, base+"/v1/requests/"+id, &ans); err != nil {
		return nil, consentErr(err)
	}
	v, err := verifyRequest(ans.Request, ledgerKey, base, rf.now)
	if err != nil {
		return nil, err
	}
	if v.ID != id {
		return nil, wrapf(ErrForgedAnswer, "the issuer answered request %s with request %s", id, v.ID)
	}
	req := &ConsentRequest{
		ID: v.ID, Server: base, RPID: v.RPID, RPName: v.RPName, OrgCode: v.OrgCode, OrgName: v.OrgName,
		MatterCode: v.MatterCode, MatterName: v.MatterName, Class: v.Class, ClassName: v.Class,
		Duration: v.Duration, Use: v.Use, IssuedAt: v.IssuedAt, ExpiresAt: v.ExpiresAt,
		State: ans.State, Grant: ans.Grant, Signed: ans.Request, fields: v.Fields, ok: true,
	}
	if cl, ok := catalog.Default().Lookup(v.Class); ok && cl.NameZH != "" {
		req.ClassName = cl.NameZH
	}
	keys := make([]string, len(v.Fields))
	wire := make([]map[string]string, len(v.Fields))
	for i, f := range v.Fields {
		keys[i] = f.Key
		wire[i] = map[string]string{"key": f.Key, "name": f.Name, "purpose": f.Purpose}
	}
	req.Fields = strings.Join(keys, ",")
	fj, _ := json.Marshal(wire)
	req.FieldsJSON = string(fj)
	l, err := w.List()
	if err != nil {
		return nil, err
	}
	var ids []string
	for i := int64(0); i < l.Len(); i++ {
		if x := l.At(i); canAnswer(x, req) == nil {
			ids = append(ids, x.ID)
		}
	}
	req.Licences = strings.Join(ids, ",")
	return req, nil
}

// canAnswer says why licence l cannot answer req (nil if it can).
func canAnswer(l *Licence, req *ConsentRequest) error {
	switch {
	case l.Class != req.Class:
		return wrapf(ErrNoLicence, "licence %s is a %s, the request asks for a %s", l.ID, l.Class, req.Class)
	case l.Server != req.Server:
		return wrapf(ErrNoLicence, "licence %s was claimed from %s, the request comes from %s", l.ID, l.Server, req.Server)
	case !l.Bound:
		return wrapf(ErrNoLicence, "licence %s is not bound to this device", l.ID)
	case !l.Presentable():
		return &StatusError{ID: l.ID, Status: l.Status, IssuerName: l.IssuerName, RefreshedAt: l.RefreshedAt}
	}
	return nil
}

// bundleLedgerKey is the ledger key the trust bundle names (the bundle
// was verified under the pinned root).
func bundleLedgerKey(b *trust.Bundle) (*ecdsa.PublicKey, error) {
	if b.LedgerKey == nil {
		return nil, wrapf(ErrForgedAnswer, "the trust bundle names no ledger key")
	}
	return ledgerPublicKey(b.LedgerKey.Cert)
}

// Consent approves the request with licence licenceID, disclosing the
// fields in fields (comma-separated keys, a subset of the request's;
// empty approves every requested field). The consent is signed with the
// device key the licence is bound to. It returns the grant the issuer
// made. A licence that cannot answer the request is ErrNoLicence (or a
// *StatusError when it is revoked, suspended or superseded); the issuer's
// refusals are *ConsentError values (ErrRequestExpired,
// ErrRequestAnswered, …).
func (w *Wallet) Consent(req *ConsentRequest, licenceID, fields string) (*Grant, error) {
	if req == nil || !req.ok {
		return nil, wrapf(ErrInvalidArgument, "open the request with OpenRequest first")
	}
	approved := splitList(fields)
	if len(approved) == 0 {
		approved = splitList(req.Fields)
	}
	requested := splitList(req.Fields)
	seen := map[string]bool{}
	for _, k := range approved {
		if !slices.Contains(requested, k) {
			return nil, wrapf(ErrInvalidArgument, "field %q is not one the request asks for (%s)", k, req.Fields)
		}
		if seen[k] {
			return nil, wrapf(ErrInvalidArgument, "field %q named twice", k)
		}
		seen[k] = true
	}
	g, err := w.answer(req, licenceID, approved)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Refuse tells the issuer the holder refuses the request, signed with the
// device key of licence licenceID (which must be able to answer it). The
// relying party learns only that it was refused.
func (w *Wallet) Refuse(req *ConsentRequest, licenceID string) error {
	if req == nil || !req.ok {
		return wrapf(ErrInvalidArgument, "open the request with OpenRequest first")
	}
	_, err := w.answer(req, licenceID, nil)
	return err
}

// answer signs and sends a consent: approve with fields, refuse without.
func (w *Wallet) answer(req *ConsentRequest, licenceID string, fields []string) (*Grant, error) {
	if req.ExpiresAt > 0 && w.now().Unix() > req.ExpiresAt {
		return nil, &ConsentError{Status: http.StatusGone, Code: CodeRequestExpired, Detail: "the request expired at " + time.Unix(req.ExpiresAt, 0).UTC().Format(time.RFC3339)}
	}
	if req.State != "" && req.State != "pending" {
		code := CodeRequestAnswered
		if req.State == "expired" {
			code = CodeRequestExpired
		}
		return nil, &ConsentError{Status: http.StatusConflict, Code: code, Detail: "the request is " + req.State}
	}
	r, err := w.resolve(licenceID)
	if err != nil {
		return nil, err
	}
	if err := canAnswer(r.licence(), req); err != nil {
		return nil, err
	}
	tok, err := signConsent(w.key, req.ID, req.Signed, r.ID, fields, w.now())
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]string{"consent": tok})
	if err != nil {
		return nil, err
	}
	var ans struct {
		Grant *wireGrant `json:"grant"`
	}
	if err := w.holderCall(req.Server, r.ID, http.MethodPost, "/v1/grants", "", body, &ans); err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, nil
	}
	if ans.Grant == nil || ans.Grant.ID == "" {
		return nil, wrapf(ErrNetwork, "the issuer answered the consent without a grant")
	}
	g := ans.Grant.grant(r.ID)
	// The issuer's grant names the party and matter by code; the request
	// the holder just read has their names.
	if g.RPID == "" || g.RPID == req.RPID {
		g.RPID, g.RPName = req.RPID, cmp.Or(g.RPName, req.RPName)
	}
	if g.MatterCode == "" || g.MatterCode == req.MatterCode {
		g.MatterCode, g.MatterName = req.MatterCode, cmp.Or(g.MatterName, req.MatterName)
	}
	if g.Use == "" {
		g.Use = req.Use
	}
	if g.Fields == "" {
		g.Fields = strings.Join(fields, ",")
	}
	if g.State == "" {
		g.State = "active"
	}
	return g, nil
}

// holderCall makes an API call authenticated with a proof signed by the
// device key for copy (docs/consent.md §3). query is added to the URL
// but not to the proof's htu.
func (w *Wallet) holderCall(base, copyID, method, path, query string, body []byte, out any) error {
	proof, err := signProof(w.key, copyID, method, pathOf(base)+path, body, w.now())
	if err != nil {
		return err
	}
	u := base + path
	if query != "" {
		u += "?" + query
	}
	var rd *bytes.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var req *http.Request
	if rd != nil {
		req, err = http.NewRequest(method, u, rd)
	} else {
		req, err = http.NewRequest(method, u, nil)
	}
	if err != nil {
		return wrapf(ErrInvalidArgument, "%v", err)
	}
	req.Header.Set("Authorization", "ELProof "+proof)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w.mu.Lock()
	client := w.client
	w.mu.Unlock()
	if out == nil {
		var raw []byte
		out = &raw
	}
	return consentErr(do(client, req, out))
}

// pathOf is the path part of an issuer base URL ("" for a bare host).
func pathOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.EscapedPath()
}

// Grant is a holder's consent in force or ended: a relying party may
// fetch the licence's approved fields for one matter until NotAfter.
type Grant struct {
	ID         string // g_…
	Licence    string // the licence copy it grants
	RPID       string
	RPName     string
	MatterCode string
	MatterName string
	Fields     string // the approved field keys, comma-separated
	NotAfter   int64  // Unix seconds
	Use        string // UseOnce or UseRepeat
	// State is the issuer's: "active", "used" (a once grant fetched),
	// "expired" or "revoked" (or another word a newer issuer uses).
	State     string
	CreatedAt int64 // Unix seconds, 0 if the issuer did not say
}

// GrantList is a list of grants (gomobile binds no slices of structs).
type GrantList struct{ items []*Grant }

// Len is the number of grants.
func (l *GrantList) Len() int64 { return int64(len(l.items)) }

// At returns the i-th grant (0 ≤ i < Len), or nil.
func (l *GrantList) At(i int64) *Grant {
	if i < 0 || i >= int64(len(l.items)) {
		return nil
	}
	return l.items[i]
}

// wireGrant is a grant as the issuer's API writes it: rp and matter by
// id and code (an object {"id"|"code","name"} is read too), times in RFC
// 3339 (or Unix seconds).
type wireGrant struct {
	ID       string          `json:"id"`
	RP       json.RawMessage `json:"rp"`
	Matter   json.RawMessage `json:"matter"`
	Licence  string          `json:"licence"`
	Copy     string          `json:"copy"`
	Fields   []string        `json:"fields"`
	NotAfter json.RawMessage `json:"not_after"`
	Use      string          `json:"use"`
	State    string          `json:"state"`
	Created  json.RawMessage `json:"created"`
}

func (g *wireGrant) grant(copyID string) *Grant {
	out := &Grant{ID: g.ID, Licence: copyID, Fields: strings.Join(g.Fields, ","), Use: g.Use, State: g.State}
	out.RPID, out.RPName = idName(g.RP, "id")
	out.MatterCode, out.MatterName = idName(g.Matter, "code")
	out.NotAfter, out.CreatedAt = unixOf(g.NotAfter), unixOf(g.Created)
	return out
}

// idName reads {"<idKey>","name"} or a bare string.
func idName(raw json.RawMessage, idKey string) (id, name string) {
	if len(raw) == 0 {
		return "", ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, ""
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return "", ""
	}
	id, _ = m[idKey].(string)
	if id == "" {
		id, _ = m["id"].(string)
	}
	name, _ = m["name"].(string)
	return id, name
}

// unixOf reads Unix seconds or an RFC 3339 time; 0 if neither.
func unixOf(raw json.RawMessage) int64 {
	if len(raw) == 0 {
		return 0
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if v, err := n.Int64(); err == nil {
			return v
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.Unix()
		}
	}
	return 0
}

// Grants lists the grants made with licence licenceID (copy identifier,
// or the licence identifier when the wallet holds one copy of it), as
// the issuer reports them, newest first. The issuer's grant list names
// the party and matter by code; their names come from the licence's
// uses list (one more call).
func (w *Wallet) Grants(licenceID string) (*GrantList, error) {
	r, err := w.resolve(licenceID)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := w.holderCall(r.Server, r.ID, http.MethodGet, "/v1/holder/grants", "licence="+url.QueryEscape(r.ID), nil, &raw); err != nil {
		return nil, err
	}
	var list []*wireGrant
	if err := unwrapList(raw, "grants", &list); err != nil {
		return nil, wrapf(ErrNetwork, "GET /v1/holder/grants: %v", err)
	}
	out := &GrantList{}
	named := true
	for _, g := range list {
		if g == nil || g.ID == "" {
			continue
		}
		x := g.grant(r.ID)
		named = named && x.RPName != "" && x.MatterName != ""
		out.items = append(out.items, x)
	}
	if !named {
		w.nameGrants(r, out.items)
	}
	slices.SortStableFunc(out.items, func(a, b *Grant) int { return int(b.CreatedAt - a.CreatedAt) })
	return out, nil
}

// nameGrants fills in the party's and matter's names the issuer's grant
// list leaves out (it names them by code), from the licence's uses list,
// which names them; best effort, for display only.
func (w *Wallet) nameGrants(r *record, gs []*Grant) {
	var raw json.RawMessage
	if w.holderCall(r.Server, r.ID, http.MethodGet, "/v1/holder/uses", "licence="+url.QueryEscape(r.ID), nil, &raw) != nil {
		return
	}
	var list []*wireUse
	if unwrapList(raw, "uses", &list) != nil {
		return
	}
	names := map[string]*wireUse{}
	for _, u := range list {
		if u != nil && u.Kind == kindGrant && u.Grant != "" {
			names[u.Grant] = u
		}
	}
	for _, g := range gs {
		if u := names[g.ID]; u != nil {
			if id, name := idName(u.RP, "id"); id == g.RPID && g.RPName == "" {
				g.RPName = name
			}
			if code, name := idName(u.Matter, "code"); code == g.MatterCode && g.MatterName == "" {
				g.MatterName = name
			}
		}
	}
}

// unwrapList reads a JSON array, bare or as the member key of an object.
func unwrapList(raw json.RawMessage, key string, out any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		inner, ok := m[key]
		if !ok {
			return fmt.Errorf("the answer has no %q", key)
		}
		raw = inner
	}
	return json.Unmarshal(raw, out)
}

// RevokeGrant ends grant grantID of licence licenceID at once: the
// relying party's next fetch is refused. Revoking a revoked grant again
// succeeds (the issuer's revocation is idempotent); another copy's grant
// is ErrNotFound.
func (w *Wallet) RevokeGrant(licenceID, grantID string) error {
	r, err := w.resolve(licenceID)
	if err != nil {
		return err
	}
	if !validGrantID(grantID) {
		return wrapf(ErrInvalidArgument, "%q is not a grant id (g_ and 22 base64url characters)", grantID)
	}
	return w.holderCall(r.Server, r.ID, http.MethodDelete, "/v1/grants/"+grantID, "", nil, nil)
}

func validGrantID(s string) bool {
	return strings.HasPrefix(s, "g_") && validRequestID("r_"+s[2:])
}

package mobilesdk

import (
	"encoding/json"
	"strings"
	"time"

	"elicense/certs/credential"
	"elicense/certs/jws"
)

// Licence is one licence in the wallet, as an app shows its face. The
// class fields are in FieldsJSON (a JSON object of strings by field key,
// since gomobile binds no maps).
type Licence struct {
	ID         string // the device copy's identifier ("<GB/T 36904 id>#<device>")
	CopyOf     string // the licence it is a copy of: the identifier printed on it (证照标识)
	Index      int64  // its number in List (1, 2, …), which Resolve accepts; 0 when not known
	Class      string // catalogue class key, e.g. "drivers-license"
	Name       string // 证照名称
	Number     string // 证照编号, if any
	IssuerName string // 颁发机构
	IssuerCode string // 颁发机构代码
	HolderName string // 持证主体
	HolderCode string // 持证主体代码
	IssuedOn   string // 颁证日期, YYYY-MM-DD
	ValidFrom  string // YYYY-MM-DD
	ValidUntil string // YYYY-MM-DD or 长期
	// Status is StatusValid, StatusRevoked, StatusSuspended,
	// StatusSuperseded (as read from the issuer's signed status list at
	// RefreshedAt), or StatusUnknown before the wallet has read it. A
	// revoked, suspended or superseded status the issuer reported when
	// the licence was claimed is kept even unverified: it only blocks.
	Status       string
	StatusAt     int64  // Unix seconds: when the issuer signed the status list last read; 0 before the first refresh
	RefreshedAt  int64  // Unix seconds: when the wallet last read the status (Refresh, RefreshAll, Claim with a trust root); 0 never
	StatusMaxAge int64  // seconds after RefreshedAt when the status counts as old (the class's max_status_staleness)
	Server       string // the issuer it was claimed from
	ClaimedAt    int64  // Unix seconds
	LedgerIndex  int64  // the issuer's ledger entry of the device copy
	Bound        bool   // bound to this device (presentations are device-signed)
	Verified     bool   // checked against a pinned trust root when claimed
	FieldsJSON   string // class fields, JSON object
	Optional     string // keys of the fields the holder may disclose, comma-separated
}

// credentialPayload is the part of the JWS payload the wallet reads. It
// is read without checking the signature: the claim checked it (device
// binding always, issuer signature when a trust root is pinned) and the
// store is authenticated.
type credentialPayload struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Jti string `json:"jti"`
	Lic struct {
		Class      string            `json:"class"`
		Name       string            `json:"name"`
		Number     string            `json:"number"`
		IssuerName string            `json:"issuer_name"`
		IssuedOn   string            `json:"issued_on"`
		HolderName string            `json:"holder_name"`
		ValidFrom  string            `json:"valid_from"`
		ValidUntil string            `json:"valid_until"`
		Fields     map[string]string `json:"fields"`
	} `json:"lic"`
	Status *struct {
		StatusList struct {
			URI string `json:"uri"`
			Idx int64  `json:"idx"`
		} `json:"status_list"`
	} `json:"status"`
	Cnf *struct {
		JWK struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"jwk"`
	} `json:"cnf"`
}

// parseCredentialPayload reads a credential's claims, not verified here,
// through certs/jws, the reader every format uses.
func parseCredentialPayload(token string) (*credentialPayload, error) {
	t, err := jws.Parse(token, jws.Expect{Typ: credential.TokenType, RequireKid: true})
	if err != nil {
		return nil, err
	}
	var p credentialPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func marshalRecord(r *record) ([]byte, error) { return json.Marshal(r) }

func (r *record) licence() *Licence {
	l := &Licence{
		ID: r.ID, CopyOf: r.CopyOf, Class: r.Class, HolderName: r.HolderName, HolderCode: r.HolderCode,
		Status: r.Status, StatusAt: r.StatusAt, RefreshedAt: r.RefreshedAt, Server: r.Server, ClaimedAt: r.ClaimedAt, LedgerIndex: int64(r.LedgerIndex),
		Verified: r.Verified, FieldsJSON: "{}", StatusMaxAge: int64(statusMaxAge(r.Class) / time.Second),
	}
	if l.RefreshedAt == 0 {
		l.RefreshedAt = r.StatusAt // refreshed by a wallet that did not record when
	}
	if l.RefreshedAt == 0 && !blocked(r.Status) {
		l.Status = StatusUnknown
	}
	if p, err := parseCredentialPayload(r.Credential); err == nil {
		l.Name, l.Number, l.IssuerName, l.IssuerCode = p.Lic.Name, p.Lic.Number, p.Lic.IssuerName, p.Iss
		l.IssuedOn, l.ValidFrom, l.ValidUntil = p.Lic.IssuedOn, p.Lic.ValidFrom, p.Lic.ValidUntil
		if f, err := json.Marshal(p.Lic.Fields); err == nil && p.Lic.Fields != nil {
			l.FieldsJSON = string(f)
		}
	}
	if h, err := parseHolding(r.Holding); err == nil {
		l.Bound = h.Bound()
		keys := make([]string, 0, len(h.Optional))
		for _, o := range h.Optional {
			keys = append(keys, o.Key)
		}
		l.Optional = strings.Join(keys, ",")
	}
	return l
}

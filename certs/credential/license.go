package credential

import (
	"crypto/ecdsa"
	"time"
)

// DateLayout is how dates appear in licences (颁证日期, 有效期).
const DateLayout = "2006-01-02"

// LongTerm is the value of 有效期至 for a licence valid without end (长期).
const LongTerm = "长期"

// HolderCodeType says which identifier a holder code is (持证主体代码类型).
type HolderCodeType string

// The holder code types of GB/T 36903 used by the catalogue.
const (
	HolderUSCC       HolderCodeType = "uscc"        // 统一社会信用代码
	HolderResidentID HolderCodeType = "resident-id" // 公民身份号码
)

// License is one licence as issued. Field names follow GB/T 36903; the JSON
// claim names are in docs/formats.md.
type License struct {
	Class          string         // catalogue class key, e.g. "business-license"
	TypeCode       string         // 证照类型代码 (GB/T 36904 type code of the class)
	Name           string         // 证照名称, the class's Chinese name
	Number         string         // 证照编号 as printed, if the class has one
	ID             string         // 证照标识 (GB/T 36904 identifier)
	IssuerName     string         // 颁发机构
	IssuerCode     string         // 颁发机构代码 (agency 统一社会信用代码)
	IssuedOn       time.Time      // 颁证日期 (date, UTC midnight)
	HolderName     string         // 持证主体
	HolderCode     string         // 持证主体代码
	HolderCodeType HolderCodeType // 持证主体代码类型
	ValidFrom      time.Time      // 有效期起始日期
	ValidUntil     time.Time      // 有效期截止日期; zero means 长期
	Fields         map[string]string
	Device         *ecdsa.PublicKey // holder device key (cnf), nil when unbound
	Status         *StatusRef       // where the licence's status is published
	Seal           string           // 电子印章标识符 of the issuing agency's seal on the licence face, if any
	SignedAt       time.Time        // iat

	checked *validated // what NewLicense validated; nil for a licence made otherwise
}

// StatusRef points into an IETF Token Status List.
type StatusRef struct {
	URI   string `json:"uri"`
	Index uint64 `json:"idx"`
}

// LongTermValid reports whether the licence has no end date.
func (l *License) LongTermValid() bool { return l.ValidUntil.IsZero() }

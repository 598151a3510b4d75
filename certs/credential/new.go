package credential

import (
	"maps"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/ident"
)

// Issuance is the metadata an issuer adds to a record's class fields.
type Issuance struct {
	ID         string    // GB/T 36904 identifier
	IssuerName string    // 颁发机构
	IssuerCode string    // 颁发机构代码
	IssuedOn   time.Time // 颁证日期; zero means today
	Number     string    // 证照编号 as printed, if any
	Seal       string    // esID of the agency seal the licence face carries, if any
}

// NewLicense builds a licence of class cl from its field values and the
// issuer's metadata: holder name and code come from the class's holder
// fields, the validity window from its validity field (an open start falls
// back to the issue date). The result is checked as Sign would check it.
func NewLicense(cl *catalog.Class, fields map[string]string, iss Issuance) (*License, error) {
	l := &License{
		Class:      cl.Key,
		TypeCode:   cl.TypeCode,
		Name:       cl.NameZH,
		Number:     iss.Number,
		ID:         iss.ID,
		IssuerName: iss.IssuerName,
		IssuerCode: iss.IssuerCode,
		IssuedOn:   midnight(iss.IssuedOn),
		HolderName: fields[cl.HolderNameField],
		HolderCode: fields[cl.HolderCodeField],
		Fields:     maps.Clone(fields),
		Seal:       iss.Seal,
	}
	if l.IssuedOn.IsZero() {
		l.IssuedOn = midnight(time.Now())
	}
	l.HolderCodeType = HolderResidentID
	if ident.ValidateUSCC(l.HolderCode) == nil {
		l.HolderCodeType = HolderUSCC
	}
	l.ValidFrom = l.IssuedOn
	if t, ok := cl.ValidityTerm(fields); ok {
		if t.HasStart() {
			l.ValidFrom = inChina(t.Start)
		}
		if !t.LongTerm && !t.End.IsZero() {
			l.ValidUntil = inChina(t.End)
		}
	}
	if err := validate(l, cl); err != nil {
		return nil, err
	}
	return l, nil
}

// inChina reads a date parsed elsewhere (in any zone) as that calendar day
// in China time.
func inChina(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, china)
}

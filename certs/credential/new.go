package credential

import (
	"maps"
	"time"

	"elicense/certs/catalog"
	"elicense/certs/ident"
	"elicense/internal/chinatime"
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
	l.checked = &validated{cl: cl, meta: metaOf(l), fields: make([][2]string, 0, len(l.Fields))}
	for k, v := range l.Fields {
		l.checked.fields = append(l.checked.fields, [2]string{k, v})
	}
	return l, nil
}

// validated records what NewLicense checked, so that Sign, which must not
// sign anything validate refuses, can skip validating again (half the
// catalogue checks of an issuance) when none of it has changed. The
// fields are a private copy (key, value pairs: one allocation, where a
// map is several): callers may change the licence's own map.
type validated struct {
	cl     *catalog.Class
	meta   checkedMeta
	fields [][2]string
}

// checkedMeta is every License field validate reads besides Fields.
type checkedMeta struct {
	TypeCode, Name, ID, IssuerName, IssuerCode, HolderName, HolderCode string
	HolderCodeType                                                     HolderCodeType
	IssuedOn, ValidFrom, ValidUntil                                    time.Time
}

func metaOf(l *License) checkedMeta {
	return checkedMeta{
		TypeCode: l.TypeCode, Name: l.Name, ID: l.ID, IssuerName: l.IssuerName, IssuerCode: l.IssuerCode,
		HolderName: l.HolderName, HolderCode: l.HolderCode, HolderCodeType: l.HolderCodeType,
		IssuedOn: l.IssuedOn, ValidFrom: l.ValidFrom, ValidUntil: l.ValidUntil,
	}
}

// unchanged reports whether l, against class cl, is exactly what v
// validated. Times compare with ==, not Equal: any change of
// representation counts as a change, and the licence is checked again.
func (v *validated) unchanged(l *License, cl *catalog.Class) bool {
	if v == nil || v.cl != cl || v.meta != metaOf(l) || len(v.fields) != len(l.Fields) {
		return false
	}
	for _, kv := range v.fields {
		if y, ok := l.Fields[kv[0]]; !ok || y != kv[1] {
			return false
		}
	}
	return true
}

// inChina reads a date parsed elsewhere (in any zone) as that calendar day
// in China time.
func inChina(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, chinatime.Zone)
}

package catalog

import (
	"fmt"
	"slices"
	"time"

	"elicense/certs/ident"
)

// A HolderKind says who holds licences of a class.
type HolderKind string

// The holder kinds.
const (
	// HolderOrganization: a legal person or other organisation, identified
	// by its 统一社会信用代码.
	HolderOrganization HolderKind = "organization"
	// HolderPerson: a natural person, identified by the 公民身份号码.
	HolderPerson HolderKind = "person"
	// HolderEither: an organisation or a person.
	HolderEither HolderKind = "either"
)

// Valid reports whether k is a known holder kind.
func (k HolderKind) Valid() bool {
	return k == HolderOrganization || k == HolderPerson || k == HolderEither
}

// codeType returns the field type of the holder code for k.
func (k HolderKind) codeType() FieldType {
	switch k {
	case HolderOrganization:
		return TypeUSCC
	case HolderPerson:
		return TypeResidentID
	default:
		return TypeUSCCOrResidentID
	}
}

// A Name is a name in Chinese and English.
type Name struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// A ValidityKind says how long licences of a class are valid.
type ValidityKind string

// The validity kinds.
const (
	// ValidityFixed: a term of one of TermYears years from issue (or 长期
	// when LongTermAllowed), e.g. 食品经营许可证: 5 years.
	ValidityFixed ValidityKind = "fixed"
	// ValidityVariable: the end is set licence by licence (e.g. 营业期限,
	// fixed by the articles of association), or 长期 when LongTermAllowed.
	ValidityVariable ValidityKind = "variable"
	// ValidityNone: no validity period; the licence stands until revoked
	// (结婚证, 出生医学证明, 不动产权证书 …).
	ValidityNone ValidityKind = "none"
)

// A ValidityPolicy is a class's validity rule.
type ValidityPolicy struct {
	Kind            ValidityKind
	TermYears       []int  // allowed terms in years (ValidityFixed only)
	LongTermAllowed bool   // whether the term may end 长期
	Field           string // key of the field holding the validity (a date or term); "" for ValidityNone
}

// A StalePolicy says what a counter does when its status data for a licence
// is older than the class's MaxStatusStaleness.
type StalePolicy string

// The stale policies.
const (
	StaleFail StalePolicy = "fail" // fail closed: the licence is not accepted
	StaleWarn StalePolicy = "warn" // accept, with a warning to the clerk
)

// Valid reports whether p is a known policy.
func (p StalePolicy) Valid() bool { return p == StaleFail || p == StaleWarn }

// A Class is a licence class (证照类型): what every licence of the class
// carries and how it is checked. Classes are read-only once the catalogue is
// parsed and safe for concurrent use.
type Class struct {
	Key             string     // stable ASCII slug, e.g. "business-license"
	TypeCode        string     // GB/T 36904 licence type code, 21 characters
	NameZH, NameEN  string     // e.g. "营业执照", "Business Licence"
	IssuerKind      Name       // kind of issuing agency, e.g. 市场监督管理局
	HolderKind      HolderKind // organisation, person or either
	Fields          []Field    // in printed order
	HolderNameField string     // key of the field naming the holder
	HolderCodeField string     // key of the field holding the holder's code
	// NumberField is the key of the field that is the licence's own number
	// (证照编号), "" when the class has none.
	NumberField        string
	Validity           ValidityPolicy
	MaxStatusStaleness time.Duration // oldest status data a counter may rely on
	StalePolicy        StalePolicy   // what to do past MaxStatusStaleness
	Pilot              bool          // one of the pilot classes
	Note               string        // remark from the catalogue file

	index map[string]int // field key → index in Fields
}

// Field returns the field with the given key.
func (cl *Class) Field(key string) (*Field, bool) {
	i, ok := cl.index[key]
	if !ok {
		return nil, false
	}
	return &cl.Fields[i], true
}

// FieldsByQR returns the fields with QR visibility v, in field order.
func (cl *Class) FieldsByQR(v QRVisibility) []*Field {
	var fs []*Field
	for i := range cl.Fields {
		if cl.Fields[i].QR == v {
			fs = append(fs, &cl.Fields[i])
		}
	}
	return fs
}

// HolderCodeValidate checks code as a holder code of the class: a
// 统一社会信用代码 for organisations, a 公民身份号码 for persons, either for
// HolderEither. It returns nil or the *ident.Error.
func (cl *Class) HolderCodeValidate(code string) error {
	switch cl.HolderKind {
	case HolderOrganization:
		return ident.ValidateUSCC(code)
	case HolderPerson:
		return ident.ValidateResidentID(code)
	default:
		return validateUSCCOrResidentID(code)
	}
}

// Validate checks a licence record, field key → value. An absent key and an
// empty value are the same. It reports every fault at once: keys the class
// does not have, required fields missing, values that are not of their
// field's type, length or pattern, and a validity that breaks the class's
// policy (长期 where not allowed, a fixed term of the wrong length). The
// result is nil or a *[ValidationError].
func (cl *Class) Validate(values map[string]string) error {
	var errs []FieldError
	for i := range cl.Fields {
		f := &cl.Fields[i]
		v := values[f.Key]
		if fe := f.validate(v); fe != nil {
			errs = append(errs, *fe)
			continue
		}
		if v != "" && f.Key == cl.Validity.Field && f.Type == TypeTerm {
			if fe := cl.checkValidityTerm(f, v); fe != nil {
				errs = append(errs, *fe)
			}
		}
	}
	var unknown []string
	for k := range values {
		if _, ok := cl.index[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		errs = append(errs, FieldError{Field: k, Reason: "unknown field", Err: ErrUnknownField})
	}
	if len(errs) > 0 {
		return &ValidationError{Class: cl.Key, Fields: errs}
	}
	return nil
}

// checkValidityTerm applies the validity policy to a well-formed term value.
func (cl *Class) checkValidityTerm(f *Field, v string) *FieldError {
	t, te := parseTerm(v)
	if te != nil { // cannot happen: the value passed f.validate
		return f.fail(te.err, te.reason)
	}
	if !t.HasStart() {
		return f.fail(ErrFormat, fmt.Sprintf("validity %s has no start date (want YYYY-MM-DD至…)", quote(v)))
	}
	if t.LongTerm {
		if !cl.Validity.LongTermAllowed {
			return f.fail(ErrRange, "validity 长期 is not allowed for this class")
		}
		return nil
	}
	if cl.Validity.Kind != ValidityFixed {
		return nil
	}
	for _, years := range cl.Validity.TermYears {
		// A term runs to the anniversary or to the day before it.
		want := t.Start.AddDate(years, 0, 0)
		if !t.End.After(want) && !t.End.Before(want.AddDate(0, 0, -1)) {
			return nil
		}
	}
	return f.fail(ErrRange, fmt.Sprintf("validity %s is not a term of %s years", quote(v), joinInts(cl.Validity.TermYears)))
}

// ValidityTerm returns the validity recorded in a licence record: the parsed
// term of a term field, or a term with only an End for a date field
// (有效期至). It returns false if the class has no validity field or the
// value is absent or malformed.
func (cl *Class) ValidityTerm(values map[string]string) (Term, bool) {
	f, ok := cl.Field(cl.Validity.Field)
	if !ok {
		return Term{}, false
	}
	v := values[f.Key]
	if v == "" || f.validate(v) != nil {
		return Term{}, false
	}
	switch f.Type {
	case TypeDate:
		end, _ := parseDate(v)
		return Term{End: end}, true
	case TypeTerm:
		t, te := parseTerm(v)
		return t, te == nil
	}
	return Term{}, false
}

func joinInts(ns []int) string {
	s := ""
	for i, n := range ns {
		switch {
		case i == 0:
		case i == len(ns)-1:
			s += " or "
		default:
			s += ", "
		}
		s += fmt.Sprint(n)
	}
	return s
}

// Number is the licence's 证照编号: number as issued when set, else the
// value of the class's number field ("" when it has none). Licences
// issued before the class named its number field carry none of their
// own; their files and archives show the field's value all the same.
func (c *Class) Number(number string, fields map[string]string) string {
	if number != "" || c.NumberField == "" {
		return number
	}
	return fields[c.NumberField]
}

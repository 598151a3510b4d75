package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"elicense/certs/ident"

	jsonv2 "github.com/go-json-experiment/json"
)

// The catalogue file, as decoded. Unknown members are rejected everywhere;
// members named "_note" hold free-text remarks.
type fileJSON struct {
	Note           string              `json:"_note"`
	TypeCodeScheme string              `json:"type_code_scheme"`
	ValueSets      map[string][]string `json:"value_sets"`
	Classes        []json.RawMessage   `json:"classes"`
}

type classJSON struct {
	Key                string            `json:"key"`
	TypeCode           string            `json:"type_code"`
	NameZH             string            `json:"name_zh"`
	NameEN             string            `json:"name_en"`
	IssuerKind         *Name             `json:"issuer_kind"`
	HolderKind         string            `json:"holder_kind"`
	HolderNameField    string            `json:"holder_name_field"`
	HolderCodeField    string            `json:"holder_code_field"`
	NumberField        string            `json:"number_field"`
	Validity           *validityJSON     `json:"validity"`
	MaxStatusStaleness string            `json:"max_status_staleness"`
	StalePolicy        string            `json:"stale_policy"`
	Pilot              bool              `json:"pilot"`
	Note               string            `json:"_note"`
	Fields             []json.RawMessage `json:"fields"`
}

type validityJSON struct {
	Kind            string `json:"kind"`
	TermYears       []int  `json:"term_years"`
	LongTermAllowed bool   `json:"long_term_allowed"`
	Field           string `json:"field"`
}

type fieldJSON struct {
	Key      string   `json:"key"`
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	MaxLen   int      `json:"max_len"`
	Values   []string `json:"values"`
	ValueSet string   `json:"value_set"`
	Pattern  string   `json:"pattern"`
	Min      *int64   `json:"min"`
	Max      *int64   `json:"max"`
	QR       string   `json:"qr"`
	Printed  *bool    `json:"printed"`
	Dates    string   `json:"dates"`
	Note     string   `json:"_note"`
}

// Limits on catalogue values.
const (
	maxKeyLen     = 64
	maxNameLen    = 100     // class names, issuer kinds, field labels, enum values
	maxFieldLen   = 100_000 // max_len
	maxTermYears  = 100
	typeCodeLen   = 21
	typeCodeAgent = 18 // the defining agency's 统一社会信用代码
)

var (
	classKeyRE = regexp.MustCompile(`^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$`)
	fieldKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Parse reads and validates a catalogue file (the format of the embedded
// classes.json). Everything is checked: the JSON shape (unknown members are
// errors), unique class keys, type codes and names, well-formed type codes
// (a valid 统一社会信用代码 of the defining agency and a 3-digit sequence
// number), known holder kinds, field types, QR visibilities and policies,
// enum values, patterns (which must compile), int bounds, holder name and
// code fields of the right type, a coherent validity policy, positive
// staleness durations, and at least one field always shown in the QR.
// The first fault found is returned, naming the class and field, e.g.
//
//	catalog: class "food-operation-permit": field "valid_until": unknown type "dat"
func Parse(data []byte) (*Catalog, error) {
	var file fileJSON
	if err := decodeStrict(data, &file); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	sets, err := checkValueSets(file.ValueSets)
	if err != nil {
		return nil, err
	}
	if len(file.Classes) == 0 {
		return nil, errors.New("catalog: no classes")
	}
	c := &Catalog{
		lookup:     make(map[string]*Class),
		byTypeCode: make(map[string]*Class),
		note:       file.Note,
		raw:        slices.Clone(data),
	}
	names := make(map[string]string)   // lookup string → what claimed it
	namesEN := make(map[string]string) // name_en → class key
	for i, raw := range file.Classes {
		cl, err := parseClass(raw, i, sets)
		if err != nil {
			return nil, err
		}
		for _, claim := range []struct{ what, s string }{
			{"key", cl.Key}, {"type_code", cl.TypeCode}, {"name_zh", cl.NameZH},
		} {
			if prev, dup := names[claim.s]; dup {
				return nil, fmt.Errorf("catalog: class %q: %s %q is already used as the %s", cl.Key, claim.what, claim.s, prev)
			}
			names[claim.s] = fmt.Sprintf("%s of class %q", claim.what, cl.Key)
			c.lookup[claim.s] = cl
		}
		if other, dup := namesEN[cl.NameEN]; dup {
			return nil, fmt.Errorf("catalog: class %q: name_en %q is already used by class %q", cl.Key, cl.NameEN, other)
		}
		namesEN[cl.NameEN] = cl.Key
		c.byTypeCode[cl.TypeCode] = cl
		c.classes = append(c.classes, cl)
	}
	return c, nil
}

// decodeStrict decodes one JSON value into v, rejecting unknown and
// repeated members, names in another case, and trailing data (CAT-01).
func decodeStrict(data []byte, v any) error {
	if err := jsonv2.Unmarshal(data, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return nil
}

func checkValueSets(sets map[string][]string) (map[string][]string, error) {
	for _, name := range slices.Sorted(maps.Keys(sets)) {
		values := sets[name]
		if !fieldKeyRE.MatchString(name) || len(name) > maxKeyLen {
			return nil, fmt.Errorf("catalog: value set %q: invalid name (want lower-case ASCII letters, digits and _)", name)
		}
		if err := checkValues(values); err != nil {
			return nil, fmt.Errorf("catalog: value set %q: %w", name, err)
		}
	}
	return sets, nil
}

// checkValues checks a list of enum values.
func checkValues(values []string) error {
	if len(values) == 0 {
		return errors.New("no values")
	}
	seen := make(map[string]bool, len(values))
	for _, v := range values {
		if err := checkName(v); err != nil {
			return fmt.Errorf("value %s: %w", quote(v), err)
		}
		if seen[v] {
			return fmt.Errorf("duplicate value %q", v)
		}
		seen[v] = true
	}
	return nil
}

// checkName checks a label, name or enum value: non-empty, valid UTF-8, one
// line, no surrounding white space, at most maxNameLen characters.
func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case runeCountUpTo(s, maxNameLen+1) > maxNameLen:
		return fmt.Errorf("longer than %d characters", maxNameLen)
	case strings.TrimSpace(s) != s:
		return errors.New("leading or trailing white space")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

func parseClass(raw json.RawMessage, i int, sets map[string][]string) (*Class, error) {
	var cj classJSON
	if err := decodeStrict(raw, &cj); err != nil {
		return nil, fmt.Errorf("catalog: class #%d: %w", i+1, err)
	}
	if cj.Key == "" {
		return nil, fmt.Errorf("catalog: class #%d: missing key", i+1)
	}
	if !classKeyRE.MatchString(cj.Key) || len(cj.Key) > maxKeyLen {
		return nil, fmt.Errorf("catalog: class #%d: invalid key %s (want a lower-case ASCII slug such as \"business-license\")", i+1, quote(cj.Key))
	}
	errf := func(format string, args ...any) error {
		return fmt.Errorf("catalog: class %q: "+format, append([]any{cj.Key}, args...)...)
	}

	if err := checkTypeCode(cj.TypeCode); err != nil {
		return nil, errf("type_code %s: %w", quote(cj.TypeCode), err)
	}
	for _, n := range []struct{ what, s string }{{"name_zh", cj.NameZH}, {"name_en", cj.NameEN}} {
		if err := checkName(n.s); err != nil {
			return nil, errf("%s: %w", n.what, err)
		}
	}
	if cj.IssuerKind == nil {
		return nil, errf("missing issuer_kind")
	}
	for _, n := range []struct{ what, s string }{{"issuer_kind.zh", cj.IssuerKind.ZH}, {"issuer_kind.en", cj.IssuerKind.EN}} {
		if err := checkName(n.s); err != nil {
			return nil, errf("%s: %w", n.what, err)
		}
	}
	cl := &Class{
		Key:             cj.Key,
		TypeCode:        cj.TypeCode,
		NameZH:          cj.NameZH,
		NameEN:          cj.NameEN,
		IssuerKind:      *cj.IssuerKind,
		HolderKind:      HolderKind(cj.HolderKind),
		HolderNameField: cj.HolderNameField,
		HolderCodeField: cj.HolderCodeField,
		NumberField:     cj.NumberField,
		StalePolicy:     StalePolicy(cj.StalePolicy),
		Pilot:           cj.Pilot,
		Note:            cj.Note,
		index:           make(map[string]int, len(cj.Fields)),
	}
	if !cl.HolderKind.Valid() {
		return nil, errf("unknown holder_kind %q (want organization, person or either)", cj.HolderKind)
	}

	// Fields.
	if len(cj.Fields) == 0 {
		return nil, errf("no fields")
	}
	cl.Fields = make([]Field, 0, len(cj.Fields))
	for j, raw := range cj.Fields {
		f, err := parseField(raw, j, sets)
		if err != nil {
			return nil, errf("%w", err)
		}
		if _, dup := cl.index[f.Key]; dup {
			return nil, errf("field %q: duplicate key", f.Key)
		}
		cl.index[f.Key] = len(cl.Fields)
		cl.Fields = append(cl.Fields, f)
	}
	if len(cl.FieldsByQR(QRAlways)) == 0 {
		return nil, errf("no field has qr \"always\"; the QR would show nothing of the licence")
	}

	// Holder fields.
	if err := checkHolderField(cl, "holder_name_field", cl.HolderNameField, TypeText); err != nil {
		return nil, err
	}
	if err := checkHolderField(cl, "holder_code_field", cl.HolderCodeField, cl.HolderKind.codeType()); err != nil {
		return nil, err
	}

	if err := checkNumberField(cl); err != nil {
		return nil, err
	}

	// Validity.
	if cj.Validity == nil {
		return nil, errf("missing validity")
	}
	if err := checkValidity(cl, cj.Validity); err != nil {
		return nil, err
	}

	// Status staleness.
	if cj.MaxStatusStaleness == "" {
		return nil, errf("missing max_status_staleness")
	}
	d, err := time.ParseDuration(cj.MaxStatusStaleness)
	if err != nil {
		return nil, errf("max_status_staleness %s: not a Go duration (e.g. \"24h\")", quote(cj.MaxStatusStaleness))
	}
	if d <= 0 {
		return nil, errf("max_status_staleness %s: must be positive", quote(cj.MaxStatusStaleness))
	}
	cl.MaxStatusStaleness = d
	if !cl.StalePolicy.Valid() {
		return nil, errf("unknown stale_policy %q (want fail or warn)", cj.StalePolicy)
	}
	return cl, nil
}

// checkTypeCode checks a GB/T 36904 type code: the 18-character
// 统一社会信用代码 of the defining agency and a 3-digit sequence number.
func checkTypeCode(tc string) error {
	if tc == "" {
		return errors.New("missing")
	}
	if n := utf8.RuneCountInString(tc); n != typeCodeLen || len(tc) != typeCodeLen {
		return fmt.Errorf("has %d characters, want %d ASCII characters", n, typeCodeLen)
	}
	if err := ident.ValidateUSCC(tc[:typeCodeAgent]); err != nil {
		return fmt.Errorf("defining-agency code (characters 1-18): %w", err)
	}
	for i := typeCodeAgent; i < typeCodeLen; i++ {
		if tc[i] < '0' || tc[i] > '9' {
			return fmt.Errorf("character %d is %q; the type sequence number (characters 19-21) is numeric", i+1, tc[i])
		}
	}
	return nil
}

// typesWithMaxLen must state max_len; typesWithPattern may have a pattern
// (licence_no must).
var (
	typesWithMaxLen  = []FieldType{TypeText, TypeLongText, TypeLicenceNo}
	typesWithPattern = []FieldType{TypeText, TypeLongText, TypeLicenceNo}
)

// parseField decodes and checks field #j+1 of a class. sets are the
// catalogue's value sets.
func parseField(raw json.RawMessage, j int, sets map[string][]string) (Field, error) {
	var fj fieldJSON
	if err := decodeStrict(raw, &fj); err != nil {
		return Field{}, fmt.Errorf("field #%d: %w", j+1, err)
	}
	if fj.Key == "" {
		return Field{}, fmt.Errorf("field #%d: missing key", j+1)
	}
	if !fieldKeyRE.MatchString(fj.Key) || len(fj.Key) > maxKeyLen {
		return Field{}, fmt.Errorf("field #%d: invalid key %s (want lower-case ASCII letters, digits and _, e.g. \"legal_rep\")", j+1, quote(fj.Key))
	}
	f := Field{
		Key:      fj.Key,
		Label:    fj.Name,
		Type:     FieldType(fj.Type),
		Required: fj.Required,
		MaxLen:   fj.MaxLen,
		Pattern:  fj.Pattern,
		Min:      fj.Min,
		Max:      fj.Max,
		QR:       QRVisibility(fj.QR),
		Printed:  fj.Printed == nil || *fj.Printed,
		Dates:    DateKind(fj.Dates),
		Note:     fj.Note,
	}
	if err := completeField(&f, &fj, sets); err != nil {
		return Field{}, fmt.Errorf("field %q: %w", fj.Key, err)
	}
	return f, nil
}

// completeField checks f, decoded from fj, and sets its enum values and
// compiled pattern.
func completeField(f *Field, fj *fieldJSON, sets map[string][]string) error {
	if err := checkFieldKinds(f, fj); err != nil {
		return err
	}
	if err := checkMaxLen(f); err != nil {
		return err
	}
	if err := setValues(f, fj, sets); err != nil {
		return err
	}
	if err := setPattern(f); err != nil {
		return err
	}
	if err := checkDatesKind(f); err != nil {
		return err
	}
	return checkBounds(f)
}

// checkDatesKind checks a field's dates member: a known kind, on a date,
// datetime or term field; event and act (dates not after the day of
// issuance) do not fit a term, which runs into the future, and validity
// does not fit a datetime.
func checkDatesKind(f *Field) error {
	switch {
	case !f.Dates.Valid():
		return fmt.Errorf("unknown dates %q (want event, act or validity)", f.Dates)
	case f.Dates == DateAny:
		return nil
	case f.Type != TypeDate && f.Type != TypeDateTime && f.Type != TypeTerm:
		return fmt.Errorf("dates given for type %s (date, datetime and term only)", f.Type)
	case f.Type == TypeTerm && f.Dates.past():
		return fmt.Errorf("dates %q does not fit a term (want validity)", f.Dates)
	case f.Type == TypeDateTime && f.Dates == DateValidity:
		return fmt.Errorf("dates %q does not fit a datetime (want event or act)", f.Dates)
	}
	return nil
}

// checkFieldKinds checks a field's name, type and QR visibility.
func checkFieldKinds(f *Field, fj *fieldJSON) error {
	if err := checkName(fj.Name); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if fj.Type == "" {
		return errors.New("missing type")
	}
	if !f.Type.Valid() {
		return fmt.Errorf("unknown type %q", fj.Type)
	}
	if fj.QR == "" {
		return errors.New("missing qr (want always, optional or never)")
	}
	if !f.QR.Valid() {
		return fmt.Errorf("unknown qr %q (want always, optional or never)", fj.QR)
	}
	return nil
}

// checkMaxLen checks max_len: in range, and given for the types that need
// it.
func checkMaxLen(f *Field) error {
	switch {
	case f.MaxLen < 0 || f.MaxLen > maxFieldLen:
		return fmt.Errorf("max_len %d out of range 1-%d", f.MaxLen, maxFieldLen)
	case f.MaxLen == 0 && slices.Contains(typesWithMaxLen, f.Type):
		return fmt.Errorf("type %s needs max_len", f.Type)
	}
	return nil
}

// setValues sets an enum's values, given inline or as a named value set,
// and checks that none is longer than max_len. Other types take none.
func setValues(f *Field, fj *fieldJSON, sets map[string][]string) error {
	switch {
	case f.Type != TypeEnum && (fj.Values != nil || fj.ValueSet != ""):
		return fmt.Errorf("values or value_set given for type %s (enum only)", f.Type)
	case f.Type == TypeEnum && fj.Values != nil && fj.ValueSet != "":
		return errors.New("both values and value_set given")
	case f.Type == TypeEnum && fj.ValueSet != "":
		vs, ok := sets[fj.ValueSet]
		if !ok {
			return fmt.Errorf("unknown value_set %q", fj.ValueSet)
		}
		f.Values, f.ValueSet = vs, fj.ValueSet
	case f.Type == TypeEnum:
		if err := checkValues(fj.Values); err != nil {
			return fmt.Errorf("values: %w", err)
		}
		f.Values = fj.Values
	}
	if f.MaxLen > 0 {
		for _, v := range f.Values {
			if utf8.RuneCountInString(v) > f.MaxLen {
				return fmt.Errorf("value %q is longer than max_len %d", v, f.MaxLen)
			}
		}
	}
	return nil
}

// setPattern compiles the pattern, anchored, for the types that may have
// one; licence_no must.
func setPattern(f *Field) error {
	switch {
	case f.Pattern != "" && !slices.Contains(typesWithPattern, f.Type):
		return fmt.Errorf("pattern given for type %s (text, longtext and licence_no only)", f.Type)
	case f.Pattern == "" && f.Type == TypeLicenceNo:
		return errors.New("type licence_no needs a pattern")
	case f.Pattern != "":
		// Compile the pattern alone first, so that wrapping it cannot
		// change its meaning ("a)|(b" would escape the anchors).
		if _, err := regexp.Compile(f.Pattern); err != nil {
			return fmt.Errorf("pattern: %w", err)
		}
		re, err := regexp.Compile(`^(?:` + f.Pattern + `)$`)
		if err != nil {
			return fmt.Errorf("pattern: %w", err)
		}
		f.re = re
	}
	return nil
}

// checkBounds checks an int field's min and max. Other types take none.
func checkBounds(f *Field) error {
	if (f.Min != nil || f.Max != nil) && f.Type != TypeInt {
		return fmt.Errorf("min or max given for type %s (int only)", f.Type)
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		return fmt.Errorf("min %d is greater than max %d", *f.Min, *f.Max)
	}
	return nil
}

// checkHolderField checks that the holder name or code field exists, has type
// want, is required and is always in the QR (the QR core carries the holder's
// name and code).
func checkHolderField(cl *Class, what, key string, want FieldType) error {
	if key == "" {
		return fmt.Errorf("catalog: class %q: missing %s", cl.Key, what)
	}
	f, ok := cl.Field(key)
	switch {
	case !ok:
		return fmt.Errorf("catalog: class %q: %s %q: no such field", cl.Key, what, key)
	case f.Type != want:
		return fmt.Errorf("catalog: class %q: %s %q: type %s, want %s for holder_kind %s", cl.Key, what, key, f.Type, want, cl.HolderKind)
	case !f.Required:
		return fmt.Errorf("catalog: class %q: %s %q: must be required", cl.Key, what, key)
	case f.QR != QRAlways:
		return fmt.Errorf("catalog: class %q: %s %q: qr is %q, want \"always\" (the QR core carries the holder)", cl.Key, what, key, f.QR)
	}
	return nil
}

// checkNumberField: the licence's own number (证照编号) is a required,
// printed number field, so that every licence of the class has one and
// the paper shows it.
func checkNumberField(cl *Class) error {
	key := cl.NumberField
	if key == "" {
		return nil
	}
	f, ok := cl.Field(key)
	switch {
	case !ok:
		return fmt.Errorf("catalog: class %q: number_field %q: no such field", cl.Key, key)
	case f.Type != TypeLicenceNo && f.Type != TypeResidentID:
		return fmt.Errorf("catalog: class %q: number_field %q: type %s, want licence_no or resident_id", cl.Key, key, f.Type)
	case !f.Required:
		return fmt.Errorf("catalog: class %q: number_field %q: must be required", cl.Key, key)
	case !f.Printed:
		return fmt.Errorf("catalog: class %q: number_field %q: must be printed (the licence's number is on the paper)", cl.Key, key)
	}
	return nil
}

func checkValidity(cl *Class, vj *validityJSON) error {
	errf := func(format string, args ...any) error {
		return fmt.Errorf("catalog: class %q: validity: "+format, append([]any{cl.Key}, args...)...)
	}
	v := ValidityPolicy{
		Kind:            ValidityKind(vj.Kind),
		TermYears:       vj.TermYears,
		LongTermAllowed: vj.LongTermAllowed,
		Field:           vj.Field,
	}
	switch v.Kind {
	case ValidityNone:
		if v.Field != "" || len(v.TermYears) > 0 || v.LongTermAllowed {
			return errf("kind none takes no field, term_years or long_term_allowed")
		}
		cl.Validity = v
		return nil
	case ValidityFixed:
		if len(v.TermYears) == 0 {
			return errf("kind fixed needs term_years")
		}
		seen := make(map[int]bool)
		for _, y := range v.TermYears {
			if y < 1 || y > maxTermYears {
				return errf("term_years: %d out of range 1-%d", y, maxTermYears)
			}
			if seen[y] {
				return errf("term_years: duplicate %d", y)
			}
			seen[y] = true
		}
	case ValidityVariable:
		if len(v.TermYears) > 0 {
			return errf("kind variable takes no term_years")
		}
	case "":
		return errf("missing kind (want fixed, variable or none)")
	default:
		return errf("unknown kind %q (want fixed, variable or none)", vj.Kind)
	}
	if v.Field == "" {
		return errf("kind %s needs a field", v.Kind)
	}
	f, ok := cl.Field(v.Field)
	switch {
	case !ok:
		return errf("field %q: no such field", v.Field)
	case f.Type != TypeDate && f.Type != TypeTerm:
		return errf("field %q: type %s, want date or term", v.Field, f.Type)
	case v.LongTermAllowed && f.Type != TypeTerm:
		return errf("field %q: long_term_allowed needs a term field (a date cannot say 长期)", v.Field)
	case !f.Required:
		return errf("field %q: must be required", v.Field)
	}
	cl.Validity = v
	return nil
}

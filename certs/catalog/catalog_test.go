package catalog

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"elicense/certs/ident"
)

// loadSamples reads testdata/samples.json: class key → field key → value.
func loadSamples(t testing.TB) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile("testdata/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Note    string                       `json:"_note"`
		Samples map[string]map[string]string `json:"samples"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	return file.Samples
}

// sample returns a copy of the sample record of a class.
func sample(t testing.TB, key string) map[string]string {
	t.Helper()
	rec, ok := loadSamples(t)[key]
	if !ok {
		t.Fatalf("no sample for %q", key)
	}
	return maps.Clone(rec)
}

func mustClass(t testing.TB, key string) *Class {
	t.Helper()
	cl, ok := Default().Lookup(key)
	if !ok {
		t.Fatalf("no class %q", key)
	}
	return cl
}

func TestDefaultCatalogue(t *testing.T) {
	c := Default()
	classes := c.Classes()
	if len(classes) != 17 {
		t.Fatalf("%d classes, want 17", len(classes))
	}
	if _, err := Parse(DefaultJSON()); err != nil {
		t.Fatalf("Parse(DefaultJSON()): %v", err)
	}
	if !strings.Contains(c.Note(), "PLACEHOLDER") {
		t.Errorf("the top-level _note must say the type codes are placeholders: %q", c.Note())
	}

	var pilots []string
	for _, cl := range classes {
		if cl.Pilot {
			pilots = append(pilots, cl.NameZH)
		}
	}
	slices.Sort(pilots)
	if want := []string{"不动产权证书", "机动车驾驶证", "营业执照", "食品经营许可证"}; !slices.Equal(pilots, want) {
		t.Errorf("pilot classes %v, want %v", pilots, want)
	}

	want := map[HolderKind][]string{
		HolderOrganization: {"营业执照", "食品经营许可证", "药品经营许可证", "建筑工程施工许可证", "建设工程规划许可证",
			"道路运输经营许可证", "排污许可证", "公共场所卫生许可证", "人力资源服务许可证"},
		HolderPerson: {"居民身份证", "居民户口簿", "机动车驾驶证", "机动车行驶证", "结婚证", "出生医学证明", "社会保障卡"},
		HolderEither: {"不动产权证书"},
	}
	got := make(map[HolderKind][]string)
	for _, cl := range classes {
		got[cl.HolderKind] = append(got[cl.HolderKind], cl.NameZH)
	}
	for kind, names := range want {
		if !slices.Equal(got[kind], names) {
			t.Errorf("%s classes %v, want %v", kind, got[kind], names)
		}
	}
	if classes[0].NameZH != "营业执照" {
		t.Errorf("first class %s, want 营业执照 (file order)", classes[0].NameZH)
	}
}

func TestClassInvariants(t *testing.T) {
	issuer := "11310000PDY00001XQ" // the placeholder market-regulation agency
	for _, cl := range Default().Classes() {
		// The type code makes a valid GB/T 36904 identifier.
		id := ident.LicenseID{TypeCode: cl.TypeCode, IssuerCode: issuer, Serial: "20260001", Version: 1}
		if err := id.Validate(); err != nil {
			t.Errorf("%s: type code %s does not make a licence identifier: %v", cl.Key, cl.TypeCode, err)
		}
		if cl.IssuerKind.ZH == "" || cl.IssuerKind.EN == "" || cl.NameEN == "" {
			t.Errorf("%s: missing names", cl.Key)
		}
		if cl.MaxStatusStaleness <= 0 || cl.MaxStatusStaleness > 7*24*time.Hour {
			t.Errorf("%s: staleness %v", cl.Key, cl.MaxStatusStaleness)
		}
		name, _ := cl.Field(cl.HolderNameField)
		code, _ := cl.Field(cl.HolderCodeField)
		if name == nil || code == nil || name.QR != QRAlways || code.QR != QRAlways {
			t.Errorf("%s: holder fields", cl.Key)
		}
		if cl.Validity.Kind != ValidityNone {
			if _, ok := cl.Field(cl.Validity.Field); !ok {
				t.Errorf("%s: validity field %q", cl.Key, cl.Validity.Field)
			}
		}
	}
}

func TestLookup(t *testing.T) {
	c := Default()
	for _, cl := range c.Classes() {
		for _, s := range []string{cl.Key, cl.TypeCode, cl.NameZH} {
			if got, ok := c.Lookup(s); !ok || got != cl {
				t.Errorf("Lookup(%q) = %v, %v; want %s", s, got, ok, cl.Key)
			}
		}
		if got, ok := c.ByTypeCode(cl.TypeCode); !ok || got != cl {
			t.Errorf("ByTypeCode(%q) failed", cl.TypeCode)
		}
		if _, ok := c.ByTypeCode(cl.Key); ok {
			t.Errorf("ByTypeCode(%q) found a class by key", cl.Key)
		}
	}
	for _, s := range []string{"", "营业执照 ", "Business Licence", "BUSINESS-LICENSE", "11310000PDY00001XQ999"} {
		if cl, ok := c.Lookup(s); ok {
			t.Errorf("Lookup(%q) = %s, want none", s, cl.Key)
		}
	}
	bl := mustClass(t, "营业执照")
	if bl.Key != "business-license" || !bl.Pilot || bl.HolderKind != HolderOrganization {
		t.Errorf("营业执照: %+v", bl)
	}
	if f, ok := bl.Field("uscc"); !ok || f.Label != "统一社会信用代码" || f.Type != TypeUSCC {
		t.Errorf("Field(uscc) = %+v, %v", f, ok)
	}
	if _, ok := bl.Field("nope"); ok {
		t.Error("Field(nope) found")
	}
}

func TestClassesIsACopy(t *testing.T) {
	c := Default()
	cs := c.Classes()
	cs[0] = nil
	if c.Classes()[0] == nil {
		t.Error("Classes returned the catalogue's own slice")
	}
}

// JSON is the file parsed, byte for byte, and a copy.
func TestJSONIsTheFile(t *testing.T) {
	c := Default()
	b := c.JSON()
	if !slices.Equal(b, DefaultJSON()) {
		t.Fatal("Default().JSON() is not classes.json")
	}
	b[0] = 'x'
	if c.JSON()[0] == 'x' {
		t.Error("JSON returned the catalogue's own bytes")
	}
}

func TestSamplesValidate(t *testing.T) {
	samples := loadSamples(t)
	c := Default()
	for _, cl := range c.Classes() {
		rec, ok := samples[cl.Key]
		if !ok {
			t.Errorf("no sample record for %s", cl.Key)
			continue
		}
		if err := cl.Validate(rec); err != nil {
			t.Errorf("sample %s: %v", cl.Key, err)
		}
		if err := cl.HolderCodeValidate(rec[cl.HolderCodeField]); err != nil {
			t.Errorf("sample %s: holder code: %v", cl.Key, err)
		}
		if rec[cl.HolderNameField] == "" {
			t.Errorf("sample %s: no holder name", cl.Key)
		}
		if cl.Validity.Kind != ValidityNone {
			if _, ok := cl.ValidityTerm(rec); !ok {
				t.Errorf("sample %s: no validity term", cl.Key)
			}
		}
	}
	for key := range samples {
		if _, ok := c.Lookup(key); !ok {
			t.Errorf("sample for unknown class %q", key)
		}
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	cl := mustClass(t, "business-license")
	rec := sample(t, "business-license")
	delete(rec, "name")                    // required
	rec["uscc"] = "91310115MA1FPA014H"     // bad check character
	rec["established"] = "2019-02-30"      // not a date
	rec["colour"] = "red"                  // unknown
	rec["registered_capital"] = ""         // optional, empty: fine
	rec["approval_date"] = "2024-06-12"    // fine
	rec["business_scope"] = "技术服务\r\n软件开发" // stray CR
	err := cl.Validate(rec)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate: %v, want *ValidationError", err)
	}
	if ve.Class != "business-license" {
		t.Errorf("Class = %q", ve.Class)
	}
	var keys []string
	for _, fe := range ve.Fields {
		keys = append(keys, fe.Field)
	}
	if want := []string{"name", "uscc", "established", "business_scope", "colour"}; !slices.Equal(keys, want) {
		t.Errorf("fields %v, want %v", keys, want)
	}
	for _, target := range []error{ErrRequired, ErrUnknownField, ErrFormat, ident.ErrCheck} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(err, %v) = false", target)
		}
	}
	var ie *ident.Error
	if !errors.As(err, &ie) || ie.Kind != "uscc" {
		t.Errorf("errors.As(*ident.Error) failed")
	}
	if errors.Is(err, ErrTooLong) {
		t.Error("errors.Is(err, ErrTooLong) = true")
	}
	msg := err.Error()
	for _, want := range []string{
		`catalog: class "business-license": 5 invalid fields: `,
		`field "name" (名称): required`,
		`field "colour": unknown field`,
		`; `,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestValidateEmpty(t *testing.T) {
	for _, cl := range Default().Classes() {
		err := cl.Validate(nil)
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("%s: Validate(nil) = %v", cl.Key, err)
		}
		for _, fe := range ve.Fields {
			if !errors.Is(fe.Err, ErrRequired) {
				t.Errorf("%s: %v", cl.Key, fe)
			}
			if f, _ := cl.Field(fe.Field); f == nil || !f.Required {
				t.Errorf("%s: %s reported but not required", cl.Key, fe.Field)
			}
		}
	}
}

func TestValidityPolicy(t *testing.T) {
	cases := []struct {
		class, value string
		want         error
	}{
		// 营业执照: variable, 长期 allowed.
		{"business-license", "2019-04-18至长期", nil},
		{"business-license", "2019-04-18至2019-10-17", nil},
		{"business-license", "长期", ErrFormat}, // no start
		// 居民身份证: 5, 10 or 20 years, or 长期.
		{"resident-id-card", "2015-06-08至2035-06-08", nil},
		{"resident-id-card", "2015-06-08至2035-06-07", nil},
		{"resident-id-card", "2015-06-08至2025-06-08", nil},
		{"resident-id-card", "2015-06-08至2020-06-08", nil},
		{"resident-id-card", "2015-06-08至长期", nil},
		{"resident-id-card", "2015-06-08至2030-06-08", ErrRange},
		{"resident-id-card", "2015-06-08至2035-06-09", ErrRange},
		{"resident-id-card", "2015-06-08至2035-06-06", ErrRange},
		{"resident-id-card", "2024-02-29至2029-02-28", nil},
		{"resident-id-card", "2024-02-29至2029-03-01", nil},
		// 社会保障卡: 10 years, no 长期.
		{"social-security-card", "2022-03-01至2032-03-01", nil},
		{"social-security-card", "2022-03-01至长期", ErrRange},
		// 驾驶证: 6 or 10 years or 长期.
		{"drivers-license", "2018-07-15至2024-07-15", nil},
		{"drivers-license", "2018-07-15至2026-07-15", ErrRange},
		// 排污许可证: 3 or 5 years, to the day before the anniversary.
		{"pollutant-discharge-permit", "2024-05-20至2027-05-19", nil},
		{"pollutant-discharge-permit", "2024-05-20至2028-05-19", ErrRange},
	}
	for _, tc := range cases {
		cl := mustClass(t, tc.class)
		rec := sample(t, tc.class)
		rec[cl.Validity.Field] = tc.value
		err := cl.Validate(rec)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s %s: %v", tc.class, tc.value, err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s %s: %v, want %v", tc.class, tc.value, err, tc.want)
		}
	}

	// Land-use terms are not the licence's validity: any well-formed term.
	cl := mustClass(t, "real-estate-certificate")
	rec := sample(t, "real-estate-certificate")
	rec["land_use_term"] = "2005-01-01至2075-06-30"
	if err := cl.Validate(rec); err != nil {
		t.Errorf("land-use term: %v", err)
	}
}

func TestValidityTerm(t *testing.T) {
	food := mustClass(t, "food-operation-permit")
	tm, ok := food.ValidityTerm(sample(t, "food-operation-permit"))
	if !ok || tm.HasStart() || tm.End.Format(DateLayout) != "2029-03-09" {
		t.Errorf("food: %+v, %v", tm, ok)
	}
	id := mustClass(t, "resident-id-card")
	tm, ok = id.ValidityTerm(sample(t, "resident-id-card"))
	if !ok || tm.Start.Format(DateLayout) != "2015-06-08" || tm.End.Format(DateLayout) != "2035-06-08" {
		t.Errorf("id card: %+v, %v", tm, ok)
	}
	if _, ok := id.ValidityTerm(map[string]string{"valid_term": "soon"}); ok {
		t.Error("malformed term accepted")
	}
	if _, ok := mustClass(t, "marriage-certificate").ValidityTerm(sample(t, "marriage-certificate")); ok {
		t.Error("marriage certificate has a validity term")
	}
}

func TestHolderCodeValidate(t *testing.T) {
	const uscc, id = "91310115MA1FPA014G", "310104198503120435"
	cases := []struct {
		class, code string
		ok          bool
	}{
		{"business-license", uscc, true},
		{"business-license", id, false},
		{"resident-id-card", id, true},
		{"resident-id-card", uscc, false},
		{"real-estate-certificate", uscc, true},
		{"real-estate-certificate", id, true},
		{"real-estate-certificate", "", false},
	}
	for _, tc := range cases {
		err := mustClass(t, tc.class).HolderCodeValidate(tc.code)
		if (err == nil) != tc.ok {
			t.Errorf("%s %q: %v", tc.class, tc.code, err)
		}
		var ie *ident.Error
		if err != nil && !errors.As(err, &ie) {
			t.Errorf("%s %q: %T, want *ident.Error", tc.class, tc.code, err)
		}
	}

	// An organisation may hold a 不动产权证书.
	cl := mustClass(t, "real-estate-certificate")
	rec := sample(t, "real-estate-certificate")
	rec["owner"], rec["owner_code"] = "上海示例投资有限公司", "91310115MA1FPJ094J"
	if err := cl.Validate(rec); err != nil {
		t.Errorf("organisation owner: %v", err)
	}
}

func TestFieldsByQR(t *testing.T) {
	for _, cl := range Default().Classes() {
		n := 0
		for _, v := range []QRVisibility{QRAlways, QROptional, QRNever} {
			n += len(cl.FieldsByQR(v))
		}
		if n != len(cl.Fields) || len(cl.FieldsByQR(QRAlways)) == 0 {
			t.Errorf("%s: QR partition", cl.Key)
		}
	}
	var keys []string
	for _, f := range mustClass(t, "business-license").FieldsByQR(QRAlways) {
		keys = append(keys, f.Key)
	}
	if want := []string{"name", "uscc", "legal_rep", "term"}; !slices.Equal(keys, want) {
		t.Errorf("营业执照 always-shown fields %v, want %v", keys, want)
	}
}

func TestConcurrentUse(t *testing.T) {
	samples := loadSamples(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, cl := range Default().Classes() {
				if err := cl.Validate(samples[cl.Key]); err != nil {
					t.Error(err)
				}
				cl.Validate(map[string]string{"x": "y"})
			}
		}()
	}
	wg.Wait()
}

// BenchmarkValidate is one licence record checked against its class, as
// issuance does before signing.
func BenchmarkValidate(b *testing.B) {
	cl, ok := Default().Lookup("business-license")
	if !ok {
		b.Fatal("no business-license class")
	}
	values := loadSamples(b)["business-license"]
	b.ReportAllocs()
	for b.Loop() {
		if err := cl.Validate(values); err != nil {
			b.Fatal(err)
		}
	}
}

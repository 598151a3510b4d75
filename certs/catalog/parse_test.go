package catalog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// baseCatalogue is a small valid catalogue that the broken cases mutate.
const baseCatalogue = `{
  "_note": "test",
  "value_sets": {"sex": ["男", "女"]},
  "classes": [
    {
      "key": "food-operation-permit",
      "type_code": "11310000PDY00001XQ002",
      "name_zh": "食品经营许可证",
      "name_en": "Food Operation Permit",
      "issuer_kind": {"zh": "市场监督管理局", "en": "Administration for Market Regulation"},
      "holder_kind": "organization",
      "holder_name_field": "operator_name",
      "holder_code_field": "uscc",
      "validity": {"kind": "fixed", "term_years": [5], "field": "valid_until"},
      "max_status_staleness": "24h",
      "stale_policy": "fail",
      "pilot": true,
      "fields": [
        {"key": "operator_name", "name": "经营者名称", "type": "text", "required": true, "max_len": 100, "qr": "always"},
        {"key": "uscc", "name": "社会信用代码", "type": "uscc", "required": true, "qr": "always"},
        {"key": "business_form", "name": "主体业态", "type": "enum", "required": true, "values": ["食品销售经营者", "餐饮服务经营者"], "qr": "always"},
        {"key": "permit_no", "name": "许可证编号", "type": "licence_no", "required": true, "max_len": 16, "pattern": "JY[1-3][0-9]{13}", "qr": "always"},
        {"key": "valid_until", "name": "有效期至", "type": "date", "required": true, "qr": "always"},
        {"key": "count", "name": "数量", "type": "int", "min": 1, "max": 9, "qr": "optional"}
      ]
    },
    {
      "key": "resident-id-card",
      "type_code": "11310000PDY000095N001",
      "name_zh": "居民身份证",
      "name_en": "Resident Identity Card",
      "issuer_kind": {"zh": "公安局", "en": "Public Security Bureau"},
      "holder_kind": "person",
      "holder_name_field": "name",
      "holder_code_field": "id_number",
      "validity": {"kind": "fixed", "term_years": [5, 10, 20], "long_term_allowed": true, "field": "valid_term"},
      "max_status_staleness": "24h",
      "stale_policy": "warn",
      "pilot": false,
      "fields": [
        {"key": "name", "name": "姓名", "type": "text", "required": true, "max_len": 30, "qr": "always"},
        {"key": "sex", "name": "性别", "type": "enum", "required": true, "value_set": "sex", "qr": "always"},
        {"key": "id_number", "name": "公民身份号码", "type": "resident_id", "required": true, "qr": "always"},
        {"key": "valid_term", "name": "有效期限", "type": "term", "required": true, "qr": "always"}
      ]
    }
  ]
}`

// mutate decodes baseCatalogue, applies fn and re-encodes it.
func mutate(t *testing.T, fn func(doc map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(baseCatalogue))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	fn(doc)
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func class(doc map[string]any, i int) map[string]any {
	return doc["classes"].([]any)[i].(map[string]any)
}

func field(doc map[string]any, i, j int) map[string]any {
	return class(doc, i)["fields"].([]any)[j].(map[string]any)
}

func TestParseBase(t *testing.T) {
	c, err := Parse([]byte(baseCatalogue))
	if err != nil {
		t.Fatal(err)
	}
	cl, ok := c.Lookup("居民身份证")
	if !ok || cl.MaxStatusStaleness != 24*time.Hour || cl.StalePolicy != StaleWarn || !cl.Validity.LongTermAllowed {
		t.Fatalf("resident-id-card: %+v", cl)
	}
	f, _ := cl.Field("sex")
	if f.ValueSet != "sex" || len(f.Values) != 2 || !f.Printed {
		t.Errorf("sex field: %+v", f)
	}
}

func TestParseRejects(t *testing.T) {
	const food = `catalog: class "food-operation-permit": `
	cases := []struct {
		name string
		data []byte // raw input, or
		fn   func(doc map[string]any)
		want string
	}{
		{name: "empty", data: []byte(""), want: "catalog: invalid JSON: jsontext: unexpected EOF"},
		{name: "truncated", data: []byte(`{"classes": [`), want: `catalog: invalid JSON: jsontext: unexpected EOF within "/classes" after offset 13`},
		{name: "not an object", data: []byte(`[]`), want: "catalog: invalid JSON: json: cannot unmarshal JSON array into Go catalog.fileJSON"},
		{name: "repeated member", data: []byte(strings.Replace(baseCatalogue, `"classes"`, `"_note": "x", "_note": "y", "classes"`, 1)),
			want: `catalog: invalid JSON: jsontext: duplicate object member name "_note"`},
		{name: "trailing data", data: []byte(baseCatalogue + `{}`), want: "catalog: invalid JSON: jsontext: invalid character '{' after top-level value after offset 2452"},
		{name: "no classes", data: []byte(`{"classes": []}`), want: "catalog: no classes"},
		{name: "unknown top-level member", fn: func(d map[string]any) { d["clases"] = 1 },
			want: `catalog: invalid JSON: json: cannot unmarshal JSON string into Go catalog.fileJSON: unknown object member name "clases"`},
		{name: "unknown class member", fn: func(d map[string]any) { class(d, 1)["colour"] = "red" },
			want: `catalog: class #2: invalid JSON: json: cannot unmarshal JSON string into Go catalog.classJSON: unknown object member name "colour"`},
		{name: "unknown field member", fn: func(d map[string]any) { field(d, 0, 2)["value"] = "x" },
			want: food + `field #3: invalid JSON: json: cannot unmarshal JSON string into Go catalog.fieldJSON: unknown object member name "value"`},
		{name: "class not an object", fn: func(d map[string]any) { d["classes"].([]any)[1] = 7 },
			want: "catalog: class #2: invalid JSON: json: cannot unmarshal JSON number into Go catalog.classJSON"},

		// Class identity.
		{name: "missing key", fn: func(d map[string]any) { delete(class(d, 0), "key") },
			want: "catalog: class #1: missing key"},
		{name: "bad key", fn: func(d map[string]any) { class(d, 0)["key"] = "Food_Permit" },
			want: `catalog: class #1: invalid key "Food_Permit" (want a lower-case ASCII slug such as "business-license")`},
		{name: "duplicate key", fn: func(d map[string]any) { class(d, 1)["key"] = "food-operation-permit" },
			want: food + `key "food-operation-permit" is already used as the key of class "food-operation-permit"`},
		{name: "duplicate type code", fn: func(d map[string]any) { class(d, 1)["type_code"] = "11310000PDY00001XQ002" },
			want: `catalog: class "resident-id-card": type_code "11310000PDY00001XQ002" is already used as the type_code of class "food-operation-permit"`},
		{name: "duplicate name_zh", fn: func(d map[string]any) { class(d, 1)["name_zh"] = "食品经营许可证" },
			want: `catalog: class "resident-id-card": name_zh "食品经营许可证" is already used as the name_zh of class "food-operation-permit"`},
		{name: "name_zh equal to another key", fn: func(d map[string]any) { class(d, 1)["name_zh"] = "food-operation-permit" },
			want: `catalog: class "resident-id-card": name_zh "food-operation-permit" is already used as the key of class "food-operation-permit"`},
		{name: "duplicate name_en", fn: func(d map[string]any) { class(d, 1)["name_en"] = "Food Operation Permit" },
			want: `catalog: class "resident-id-card": name_en "Food Operation Permit" is already used by class "food-operation-permit"`},
		{name: "type code missing", fn: func(d map[string]any) { delete(class(d, 0), "type_code") },
			want: food + `type_code "": missing`},
		{name: "type code short", fn: func(d map[string]any) { class(d, 0)["type_code"] = "11310000PDY00001XQ02" },
			want: food + `type_code "11310000PDY00001XQ02": has 20 characters, want 21 ASCII characters`},
		{name: "type code non-ASCII", fn: func(d map[string]any) { class(d, 0)["type_code"] = "11310000PDY00001XQ00二" },
			want: food + `type_code "11310000PDY00001XQ00二": has 21 characters, want 21 ASCII characters`},
		{name: "type code bad agency check", fn: func(d map[string]any) { class(d, 0)["type_code"] = "11310000PDY00001XR002" },
			want: food + `type_code "11310000PDY00001XR002": defining-agency code (characters 1-18): uscc "11310000PDY00001XR": check character is 'R', want 'Q'`},
		{name: "type code lower case", fn: func(d map[string]any) { class(d, 0)["type_code"] = "11310000pdy00001xq002" },
			want: food + `type_code "11310000pdy00001xq002": defining-agency code (characters 1-18): uscc "11310000pdy00001xq": character 'p' at position 8 is lower-case; want a digit or upper-case letter other than I, O, S, V, Z`},
		{name: "type code sequence", fn: func(d map[string]any) { class(d, 0)["type_code"] = "11310000PDY00001XQ00A" },
			want: food + `type_code "11310000PDY00001XQ00A": character 21 is 'A'; the type sequence number (characters 19-21) is numeric`},
		{name: "name_zh empty", fn: func(d map[string]any) { class(d, 0)["name_zh"] = "" },
			want: food + "name_zh: empty"},
		{name: "name_en padded", fn: func(d map[string]any) { class(d, 0)["name_en"] = " Food" },
			want: food + "name_en: leading or trailing white space"},
		{name: "issuer kind missing", fn: func(d map[string]any) { delete(class(d, 0), "issuer_kind") },
			want: food + "missing issuer_kind"},
		{name: "issuer kind en empty", fn: func(d map[string]any) { class(d, 0)["issuer_kind"] = map[string]any{"zh": "市场监督管理局"} },
			want: food + "issuer_kind.en: empty"},
		{name: "holder kind", fn: func(d map[string]any) { class(d, 0)["holder_kind"] = "company" },
			want: food + `unknown holder_kind "company" (want organization, person or either)`},

		// Fields.
		{name: "no fields", fn: func(d map[string]any) { class(d, 0)["fields"] = []any{} },
			want: food + "no fields"},
		{name: "field missing key", fn: func(d map[string]any) { delete(field(d, 0, 1), "key") },
			want: food + "field #2: missing key"},
		{name: "field bad key", fn: func(d map[string]any) { field(d, 0, 1)["key"] = "USCC" },
			want: food + `field #2: invalid key "USCC" (want lower-case ASCII letters, digits and _, e.g. "legal_rep")`},
		{name: "field duplicate key", fn: func(d map[string]any) { field(d, 0, 1)["key"] = "operator_name" },
			want: food + `field "operator_name": duplicate key`},
		{name: "field name empty", fn: func(d map[string]any) { field(d, 0, 1)["name"] = "" },
			want: food + `field "uscc": name: empty`},
		{name: "field name control", fn: func(d map[string]any) { field(d, 0, 1)["name"] = "社会\n信用代码" },
			want: food + `field "uscc": name: control character U+000A`},
		{name: "unknown type", fn: func(d map[string]any) { field(d, 0, 4)["type"] = "dat" },
			want: food + `field "valid_until": unknown type "dat"`},
		{name: "missing type", fn: func(d map[string]any) { delete(field(d, 0, 4), "type") },
			want: food + `field "valid_until": missing type`},
		{name: "missing qr", fn: func(d map[string]any) { delete(field(d, 0, 4), "qr") },
			want: food + `field "valid_until": missing qr (want always, optional or never)`},
		{name: "unknown qr", fn: func(d map[string]any) { field(d, 0, 4)["qr"] = "sometimes" },
			want: food + `field "valid_until": unknown qr "sometimes" (want always, optional or never)`},
		{name: "text without max_len", fn: func(d map[string]any) { delete(field(d, 0, 0), "max_len") },
			want: food + `field "operator_name": type text needs max_len`},
		{name: "negative max_len", fn: func(d map[string]any) { field(d, 0, 0)["max_len"] = -1 },
			want: food + `field "operator_name": max_len -1 out of range 1-100000`},
		{name: "fractional max_len", fn: func(d map[string]any) { field(d, 0, 0)["max_len"] = 1.5 },
			want: food + `field #1: invalid JSON: json: cannot unmarshal JSON number 1.5 into Go int within "/max_len": invalid syntax`},
		{name: "values on text", fn: func(d map[string]any) { field(d, 0, 0)["values"] = []any{"a"} },
			want: food + `field "operator_name": values or value_set given for type text (enum only)`},
		{name: "enum without values", fn: func(d map[string]any) { delete(field(d, 0, 2), "values") },
			want: food + `field "business_form": values: no values`},
		{name: "enum duplicate value", fn: func(d map[string]any) { field(d, 0, 2)["values"] = []any{"单位食堂", "单位食堂"} },
			want: food + `field "business_form": values: duplicate value "单位食堂"`},
		{name: "enum empty value", fn: func(d map[string]any) { field(d, 0, 2)["values"] = []any{"单位食堂", ""} },
			want: food + `field "business_form": values: value "": empty`},
		{name: "unknown value set", fn: func(d map[string]any) { field(d, 1, 1)["value_set"] = "gender" },
			want: `catalog: class "resident-id-card": field "sex": unknown value_set "gender"`},
		{name: "values and value set", fn: func(d map[string]any) { field(d, 1, 1)["values"] = []any{"男"} },
			want: `catalog: class "resident-id-card": field "sex": both values and value_set given`},
		{name: "bad value set", fn: func(d map[string]any) { d["value_sets"] = map[string]any{"sex": []any{}} },
			want: `catalog: value set "sex": no values`},
		{name: "bad value set name", fn: func(d map[string]any) { d["value_sets"].(map[string]any)["Sex"] = []any{"男"} },
			want: `catalog: value set "Sex": invalid name (want lower-case ASCII letters, digits and _)`},
		{name: "pattern on date", fn: func(d map[string]any) { field(d, 0, 4)["pattern"] = "2.*" },
			want: food + `field "valid_until": pattern given for type date (text, longtext and licence_no only)`},
		{name: "licence_no without pattern", fn: func(d map[string]any) { delete(field(d, 0, 3), "pattern") },
			want: food + `field "permit_no": type licence_no needs a pattern`},
		{name: "pattern does not compile", fn: func(d map[string]any) { field(d, 0, 3)["pattern"] = "JY[1-3" },
			want: food + "field \"permit_no\": pattern: error parsing regexp: missing closing ]: `[1-3`"},
		{name: "pattern escaping its anchors", fn: func(d map[string]any) { field(d, 0, 3)["pattern"] = "JY)|(.*" },
			want: food + "field \"permit_no\": pattern: error parsing regexp: unexpected ): `JY)|(.*`"},
		{name: "min on text", fn: func(d map[string]any) { field(d, 0, 0)["min"] = 1 },
			want: food + `field "operator_name": min or max given for type text (int only)`},
		{name: "min above max", fn: func(d map[string]any) { field(d, 0, 5)["min"] = 10 },
			want: food + `field "count": min 10 is greater than max 9`},
		{name: "nothing always shown", fn: func(d map[string]any) {
			for _, f := range class(d, 0)["fields"].([]any) {
				f.(map[string]any)["qr"] = "optional"
			}
		}, want: food + `no field has qr "always"; the QR would show nothing of the licence`},

		// Holder fields.
		{name: "holder name missing", fn: func(d map[string]any) { delete(class(d, 0), "holder_name_field") },
			want: food + "missing holder_name_field"},
		{name: "holder name no such field", fn: func(d map[string]any) { class(d, 0)["holder_name_field"] = "name" },
			want: food + `holder_name_field "name": no such field`},
		{name: "holder name wrong type", fn: func(d map[string]any) { class(d, 0)["holder_name_field"] = "business_form" },
			want: food + `holder_name_field "business_form": type enum, want text for holder_kind organization`},
		{name: "holder code wrong type for kind", fn: func(d map[string]any) { class(d, 0)["holder_kind"] = "person" },
			want: food + `holder_code_field "uscc": type uscc, want resident_id for holder_kind person`},
		{name: "holder code wrong type for either", fn: func(d map[string]any) { class(d, 0)["holder_kind"] = "either" },
			want: food + `holder_code_field "uscc": type uscc, want uscc_or_resident_id for holder_kind either`},
		{name: "holder code not required", fn: func(d map[string]any) { field(d, 0, 1)["required"] = false },
			want: food + `holder_code_field "uscc": must be required`},
		{name: "holder code hidden", fn: func(d map[string]any) { field(d, 0, 1)["qr"] = "optional" },
			want: food + `holder_code_field "uscc": qr is "optional", want "always" (the QR core carries the holder)`},

		// Number field.
		{name: "number field no such field", fn: func(d map[string]any) { class(d, 0)["number_field"] = "no" },
			want: food + `number_field "no": no such field`},
		{name: "number field wrong type", fn: func(d map[string]any) { class(d, 0)["number_field"] = "operator_name" },
			want: food + `number_field "operator_name": type text, want licence_no or resident_id`},
		{name: "number field not required", fn: func(d map[string]any) {
			class(d, 0)["number_field"] = "permit_no"
			field(d, 0, 3)["required"] = false
		}, want: food + `number_field "permit_no": must be required`},
		{name: "number field not printed", fn: func(d map[string]any) {
			class(d, 0)["number_field"] = "permit_no"
			field(d, 0, 3)["printed"] = false
		}, want: food + `number_field "permit_no": must be printed (the licence's number is on the paper)`},

		// Validity.
		{name: "validity missing", fn: func(d map[string]any) { delete(class(d, 0), "validity") },
			want: food + "missing validity"},
		{name: "validity kind missing", fn: func(d map[string]any) { class(d, 0)["validity"] = map[string]any{} },
			want: food + "validity: missing kind (want fixed, variable or none)"},
		{name: "validity kind unknown", fn: func(d map[string]any) { class(d, 0)["validity"].(map[string]any)["kind"] = "permanent" },
			want: food + `validity: unknown kind "permanent" (want fixed, variable or none)`},
		{name: "fixed without years", fn: func(d map[string]any) { delete(class(d, 0)["validity"].(map[string]any), "term_years") },
			want: food + "validity: kind fixed needs term_years"},
		{name: "fixed zero years", fn: func(d map[string]any) { class(d, 0)["validity"].(map[string]any)["term_years"] = []any{0} },
			want: food + "validity: term_years: 0 out of range 1-100"},
		{name: "fixed duplicate years", fn: func(d map[string]any) { class(d, 0)["validity"].(map[string]any)["term_years"] = []any{5, 5} },
			want: food + "validity: term_years: duplicate 5"},
		{name: "variable with years", fn: func(d map[string]any) { class(d, 0)["validity"].(map[string]any)["kind"] = "variable" },
			want: food + "validity: kind variable takes no term_years"},
		{name: "none with field", fn: func(d map[string]any) {
			class(d, 0)["validity"] = map[string]any{"kind": "none", "field": "valid_until"}
		}, want: food + "validity: kind none takes no field, term_years or long_term_allowed"},
		{name: "validity without field", fn: func(d map[string]any) { delete(class(d, 0)["validity"].(map[string]any), "field") },
			want: food + "validity: kind fixed needs a field"},
		{name: "validity no such field", fn: func(d map[string]any) { class(d, 0)["validity"].(map[string]any)["field"] = "expiry" },
			want: food + `validity: field "expiry": no such field`},
		{name: "validity field wrong type", fn: func(d map[string]any) { class(d, 0)["validity"].(map[string]any)["field"] = "permit_no" },
			want: food + `validity: field "permit_no": type licence_no, want date or term`},
		{name: "long term on a date", fn: func(d map[string]any) { class(d, 0)["validity"].(map[string]any)["long_term_allowed"] = true },
			want: food + `validity: field "valid_until": long_term_allowed needs a term field (a date cannot say 长期)`},
		{name: "validity field optional", fn: func(d map[string]any) { field(d, 0, 4)["required"] = false },
			want: food + `validity: field "valid_until": must be required`},

		// Staleness.
		{name: "staleness missing", fn: func(d map[string]any) { delete(class(d, 0), "max_status_staleness") },
			want: food + "missing max_status_staleness"},
		{name: "staleness unparsable", fn: func(d map[string]any) { class(d, 0)["max_status_staleness"] = "1d" },
			want: food + `max_status_staleness "1d": not a Go duration (e.g. "24h")`},
		{name: "staleness zero", fn: func(d map[string]any) { class(d, 0)["max_status_staleness"] = "0s" },
			want: food + `max_status_staleness "0s": must be positive`},
		{name: "staleness negative", fn: func(d map[string]any) { class(d, 0)["max_status_staleness"] = "-24h" },
			want: food + `max_status_staleness "-24h": must be positive`},
		{name: "stale policy", fn: func(d map[string]any) { class(d, 0)["stale_policy"] = "ignore" },
			want: food + `unknown stale_policy "ignore" (want fail or warn)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			if tc.fn != nil {
				data = mutate(t, tc.fn)
			}
			c, err := Parse(data)
			if err == nil {
				t.Fatalf("Parse accepted it: %d classes", len(c.Classes()))
			}
			if got := stableJSONError(err); got != tc.want {
				t.Errorf("error\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// stableJSONError is err's text with the JSON package's modal verb made
// one: go-json-experiment says "cannot" or "unable to", chosen at random
// once per process so that no one depends on its wording.
func stableJSONError(err error) string {
	return strings.Replace(err.Error(), "json: unable to ", "json: cannot ", 1)
}

// TestParseBrokenFiles runs the broken catalogue files in testdata/broken;
// each begins with the expected error on its "_want" member.
func TestParseBrokenFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/broken/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no broken catalogues: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		want, body, ok := strings.Cut(string(data), "\n")
		if !ok || !strings.HasPrefix(want, "// want: ") {
			t.Fatalf("%s: first line must be // want: <error>", name)
		}
		want = strings.TrimPrefix(want, "// want: ")
		_, err = Parse([]byte(body))
		if err == nil || stableJSONError(err) != want {
			t.Errorf("%s: error\n got %v\nwant %s", name, err, want)
		}
	}
}

// TestAddingAClassIsADataChange appends an 18th class to the embedded file
// and checks that it parses, looks up and validates with no code change.
func TestAddingAClassIsADataChange(t *testing.T) {
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(string(DefaultJSON())))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var extra map[string]any
	if err := json.Unmarshal([]byte(`{
      "key": "teacher-qualification-certificate",
      "type_code": "11310000PDY0001242002",
      "name_zh": "教师资格证书",
      "name_en": "Teacher Qualification Certificate",
      "issuer_kind": {"zh": "教育局", "en": "Education Bureau"},
      "holder_kind": "person",
      "holder_name_field": "name",
      "holder_code_field": "id_number",
      "validity": {"kind": "none"},
      "max_status_staleness": "168h",
      "stale_policy": "warn",
      "fields": [
        {"key": "name", "name": "姓名", "type": "text", "required": true, "max_len": 30, "qr": "always"},
        {"key": "id_number", "name": "身份证件号码", "type": "resident_id", "required": true, "qr": "always"},
        {"key": "subject", "name": "任教学科", "type": "text", "required": true, "max_len": 30, "qr": "always"}
      ]
    }`), &extra); err != nil {
		t.Fatal(err)
	}
	doc["classes"] = append(doc["classes"].([]any), extra)
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Classes()); n != 18 {
		t.Fatalf("%d classes", n)
	}
	cl, ok := c.Lookup("教师资格证书")
	if !ok {
		t.Fatal("18th class not found")
	}
	if err := cl.Validate(map[string]string{"name": "张伟", "id_number": "310104198503120435", "subject": "数学"}); err != nil {
		t.Error(err)
	}
}

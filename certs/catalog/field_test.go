package catalog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"elicense/certs/ident"
)

// fieldOf parses one field description, as found in a catalogue file.
func fieldOf(t testing.TB, spec string) *Field {
	t.Helper()
	f, err := parseField(json.RawMessage(spec), 0, map[string][]string{"sex": {"男", "女"}})
	if err != nil {
		t.Fatalf("parseField(%s): %v", spec, err)
	}
	return &f
}

// fieldTypeCases holds, for every field type, values that must pass and
// values that must fail with the given error (tested with errors.Is).
var fieldTypeCases = []struct {
	spec  string
	value string
	want  error // nil: valid
}{
	// text
	{`{"key":"f","name":"名称","type":"text","max_len":10,"qr":"always"}`, "上海示例公司", nil},
	{`{"key":"f","name":"名称","type":"text","max_len":10,"qr":"always"}`, "a b　c", nil},
	{`{"key":"f","name":"名称","type":"text","max_len":10,"qr":"always"}`, "一二三四五六七八九十", nil},
	{`{"key":"f","name":"名称","type":"text","max_len":10,"qr":"always"}`, "一二三四五六七八九十一", ErrTooLong},
	{`{"key":"f","name":"名称","type":"text","max_len":10,"qr":"always"}`, " 上海", ErrFormat},
	{`{"key":"f","name":"名称","type":"text","max_len":10,"qr":"always"}`, "上海　", ErrFormat},
	{`{"key":"f","name":"名称","type":"text","max_len":10,"qr":"always"}`, "上\n海", ErrFormat},
	{`{"key":"f","name":"名称","type":"text","max_len":10,"qr":"always"}`, "上\x00海", ErrFormat},
	{`{"key":"f","name":"名称","type":"text","max_len":10,"qr":"always"}`, "上\u2028海", ErrFormat},
	{`{"key":"f","name":"名称","type":"text","max_len":10,"qr":"always"}`, "\xff\xfe", ErrFormat},
	{`{"key":"f","name":"准驾车型","type":"text","max_len":20,"pattern":"(A1|A2|B1|B2|C1|C2|D|E)+","qr":"always"}`, "A2D", nil},
	{`{"key":"f","name":"准驾车型","type":"text","max_len":20,"pattern":"(A1|A2|B1|B2|C1|C2|D|E)+","qr":"always"}`, "C7", ErrPattern},
	{`{"key":"f","name":"准驾车型","type":"text","max_len":20,"pattern":"(A1|A2|B1|B2|C1|C2|D|E)+","qr":"always"}`, "xC1", ErrPattern},
	// longtext
	{`{"key":"f","name":"经营范围","type":"longtext","max_len":100,"qr":"optional"}`, "一般项目：技术服务\n许可项目：食品销售", nil},
	{`{"key":"f","name":"经营范围","type":"longtext","max_len":100,"qr":"optional"}`, "技术服务\r\n食品销售", ErrFormat},
	{`{"key":"f","name":"经营范围","type":"longtext","max_len":100,"qr":"optional"}`, "技术服务\t食品销售", ErrFormat},
	{`{"key":"f","name":"经营范围","type":"longtext","max_len":100,"qr":"optional"}`, "技术服务\n", ErrFormat},
	{`{"key":"f","name":"经营范围","type":"longtext","max_len":5,"qr":"optional"}`, "一二三\n四五", ErrTooLong},
	// date
	{`{"key":"f","name":"成立日期","type":"date","qr":"always"}`, "2024-02-29", nil},
	{`{"key":"f","name":"成立日期","type":"date","qr":"always"}`, "1800-01-01", nil},
	{`{"key":"f","name":"成立日期","type":"date","qr":"always"}`, "2023-02-29", ErrFormat},
	{`{"key":"f","name":"成立日期","type":"date","qr":"always"}`, "2024-2-9", ErrFormat},
	{`{"key":"f","name":"成立日期","type":"date","qr":"always"}`, "2024/02/09", ErrFormat},
	{`{"key":"f","name":"成立日期","type":"date","qr":"always"}`, "2024年02月09日", ErrFormat},
	{`{"key":"f","name":"成立日期","type":"date","qr":"always"}`, "1799-12-31", ErrFormat},
	{`{"key":"f","name":"成立日期","type":"date","qr":"always"}`, "2200-01-01", ErrFormat},
	{`{"key":"f","name":"成立日期","type":"date","qr":"always"}`, "2024-02-09T00:00", ErrFormat},
	// datetime
	{`{"key":"f","name":"出生时间","type":"datetime","qr":"always"}`, "2025-09-15 08:42", nil},
	{`{"key":"f","name":"出生时间","type":"datetime","qr":"always"}`, "2025-09-15 24:00", ErrFormat},
	{`{"key":"f","name":"出生时间","type":"datetime","qr":"always"}`, "2025-09-15T08:42", ErrFormat},
	{`{"key":"f","name":"出生时间","type":"datetime","qr":"always"}`, "2025-09-15 8:42", ErrFormat},
	{`{"key":"f","name":"出生时间","type":"datetime","qr":"always"}`, "2025-09-15", ErrFormat},
	// term
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "2020-01-01至2030-01-01", nil},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "2020-01-01至2020-01-01", nil},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "2020-01-01至长期", nil},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "长期", nil},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "2030-01-01至2020-01-01", ErrRange},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "2020-01-01-2030-01-01", ErrFormat},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "2020-01-01 至 2030-01-01", ErrFormat},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "2020-01-01至", ErrFormat},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "至2030-01-01", ErrFormat},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "2020-01-01至2030-01-01至2040-01-01", ErrFormat},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "长期至2030-01-01", ErrFormat},
	{`{"key":"f","name":"营业期限","type":"term","qr":"always"}`, "2020-02-30至2030-01-01", ErrFormat},
	// enum
	{`{"key":"f","name":"性别","type":"enum","value_set":"sex","qr":"always"}`, "男", nil},
	{`{"key":"f","name":"性别","type":"enum","values":["批发","零售"],"qr":"always"}`, "零售", nil},
	{`{"key":"f","name":"性别","type":"enum","value_set":"sex","qr":"always"}`, "M", ErrFormat},
	{`{"key":"f","name":"性别","type":"enum","value_set":"sex","qr":"always"}`, "男性", ErrFormat},
	{`{"key":"f","name":"性别","type":"enum","value_set":"sex","qr":"always"}`, "男 ", ErrFormat},
	// money
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "100万元人民币", nil},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "人民币100.0000万元整", nil},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "50万美元", nil},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "1280000元", nil},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "3.5亿元", nil},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "0元", nil},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "100", ErrFormat},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "100万", ErrFormat},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "人民币100万美元", ErrFormat},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "01万元", ErrFormat},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "1.1234567万元", ErrFormat},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "壹佰万元整", ErrFormat},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "-5万元", ErrFormat},
	{`{"key":"f","name":"注册资本","type":"money","qr":"optional"}`, "元", ErrFormat},
	// uscc
	{`{"key":"f","name":"统一社会信用代码","type":"uscc","qr":"always"}`, "91310115MA1FPA014G", nil},
	{`{"key":"f","name":"统一社会信用代码","type":"uscc","qr":"always"}`, "91310115MA1FPA014H", ident.ErrCheck},
	{`{"key":"f","name":"统一社会信用代码","type":"uscc","qr":"always"}`, "9131011", ident.ErrLength},
	{`{"key":"f","name":"统一社会信用代码","type":"uscc","qr":"always"}`, "91310115ma1fpa014g", ident.ErrCharset},
	// resident_id
	{`{"key":"f","name":"公民身份号码","type":"resident_id","qr":"always"}`, "310104198503120435", nil},
	{`{"key":"f","name":"公民身份号码","type":"resident_id","qr":"always"}`, "310104198503120436", ident.ErrCheck},
	{`{"key":"f","name":"公民身份号码","type":"resident_id","qr":"always"}`, "310104198502300435", ident.ErrDate},
	{`{"key":"f","name":"公民身份号码","type":"resident_id","qr":"always"}`, "31010419850312043x", ident.ErrCharset},
	// org_code
	{`{"key":"f","name":"组织机构代码","type":"org_code","qr":"always"}`, "MA1FPA01-4", nil},
	{`{"key":"f","name":"组织机构代码","type":"org_code","qr":"always"}`, "MA1FPA014", nil},
	{`{"key":"f","name":"组织机构代码","type":"org_code","qr":"always"}`, "MA1FPA01-5", ident.ErrCheck},
	{`{"key":"f","name":"组织机构代码","type":"org_code","qr":"always"}`, "MA1FPA0", ident.ErrLength},
	// uscc_or_resident_id
	{`{"key":"f","name":"权利人证件号码","type":"uscc_or_resident_id","qr":"always"}`, "310115199007081223", nil},
	{`{"key":"f","name":"权利人证件号码","type":"uscc_or_resident_id","qr":"always"}`, "91310115MA1FPJ094J", nil},
	{`{"key":"f","name":"权利人证件号码","type":"uscc_or_resident_id","qr":"always"}`, "310115199007081224", ident.ErrCheck},
	{`{"key":"f","name":"权利人证件号码","type":"uscc_or_resident_id","qr":"always"}`, "91310115MA1FPJ094K", ident.ErrCheck},
	{`{"key":"f","name":"权利人证件号码","type":"uscc_or_resident_id","qr":"always"}`, "123", ident.ErrLength},
	// licence_no
	{`{"key":"f","name":"许可证编号","type":"licence_no","max_len":16,"pattern":"JY[1-3][0-9]{13}","qr":"always"}`, "JY23101150123456", nil},
	{`{"key":"f","name":"许可证编号","type":"licence_no","max_len":16,"pattern":"JY[1-3][0-9]{13}","qr":"always"}`, "JY2310115012345", ErrPattern},
	{`{"key":"f","name":"许可证编号","type":"licence_no","max_len":16,"pattern":"JY[1-3][0-9]{13}","qr":"always"}`, "JY231011501234567", ErrTooLong},
	{`{"key":"f","name":"许可证编号","type":"licence_no","max_len":16,"pattern":"JY[1-3][0-9]{13}","qr":"always"}`, "JY2 310115012345", ErrFormat},
	{`{"key":"f","name":"不动产权证书号","type":"licence_no","max_len":40,"pattern":"沪（[0-9]{4}）\\p{Han}{1,10}不动产权第[0-9]{7}号","qr":"always"}`, "沪（2023）浦字不动产权第0123456号", nil},
	{`{"key":"f","name":"不动产权证书号","type":"licence_no","max_len":40,"pattern":"沪（[0-9]{4}）\\p{Han}{1,10}不动产权第[0-9]{7}号","qr":"always"}`, "沪(2023)浦字不动产权第0123456号", ErrPattern},
	// plate_no
	{`{"key":"f","name":"号牌号码","type":"plate_no","qr":"always"}`, "沪AD82356", nil},
	{`{"key":"f","name":"号牌号码","type":"plate_no","qr":"always"}`, "沪A12345", nil},
	{`{"key":"f","name":"号牌号码","type":"plate_no","qr":"always"}`, "粤B1234学", nil},
	{`{"key":"f","name":"号牌号码","type":"plate_no","qr":"always"}`, "沪AI2345", ErrFormat},
	{`{"key":"f","name":"号牌号码","type":"plate_no","qr":"always"}`, "沪A1234", ErrFormat},
	{`{"key":"f","name":"号牌号码","type":"plate_no","qr":"always"}`, "沪A·12345", ErrFormat},
	{`{"key":"f","name":"号牌号码","type":"plate_no","qr":"always"}`, "A12345", ErrFormat},
	{`{"key":"f","name":"号牌号码","type":"plate_no","qr":"always"}`, "沪a12345", ErrFormat},
	// vin
	{`{"key":"f","name":"车辆识别代号","type":"vin","qr":"always"}`, "LSVAU218XN2183456", nil},
	{`{"key":"f","name":"车辆识别代号","type":"vin","qr":"always"}`, "1M8GDM9AXKP042788", nil},
	{`{"key":"f","name":"车辆识别代号","type":"vin","qr":"always"}`, "LSVAU2181N2183456", ErrFormat},
	{`{"key":"f","name":"车辆识别代号","type":"vin","qr":"always"}`, "LSVAU218XN218345", ErrFormat},
	{`{"key":"f","name":"车辆识别代号","type":"vin","qr":"always"}`, "LSVAU218XN218345O", ErrFormat},
	{`{"key":"f","name":"车辆识别代号","type":"vin","qr":"always"}`, "lsvau218xn2183456", ErrFormat},
	// phone
	{`{"key":"f","name":"投诉举报电话","type":"phone","qr":"optional"}`, "13812345678", nil},
	{`{"key":"f","name":"投诉举报电话","type":"phone","qr":"optional"}`, "021-62345678", nil},
	{`{"key":"f","name":"投诉举报电话","type":"phone","qr":"optional"}`, "02162345678", nil},
	{`{"key":"f","name":"投诉举报电话","type":"phone","qr":"optional"}`, "12315", nil},
	{`{"key":"f","name":"投诉举报电话","type":"phone","qr":"optional"}`, "400-820-8820", nil},
	{`{"key":"f","name":"投诉举报电话","type":"phone","qr":"optional"}`, "1381234567", ErrFormat},
	{`{"key":"f","name":"投诉举报电话","type":"phone","qr":"optional"}`, "+8613812345678", ErrFormat},
	{`{"key":"f","name":"投诉举报电话","type":"phone","qr":"optional"}`, "12345678", ErrFormat},
	// int
	{`{"key":"f","name":"核定载人数","type":"int","min":1,"max":200,"qr":"optional"}`, "5", nil},
	{`{"key":"f","name":"核定载人数","type":"int","min":1,"max":200,"qr":"optional"}`, "200", nil},
	{`{"key":"f","name":"核定载人数","type":"int","min":1,"max":200,"qr":"optional"}`, "0", ErrRange},
	{`{"key":"f","name":"核定载人数","type":"int","min":1,"max":200,"qr":"optional"}`, "201", ErrRange},
	{`{"key":"f","name":"核定载人数","type":"int","min":1,"max":200,"qr":"optional"}`, "05", ErrFormat},
	{`{"key":"f","name":"核定载人数","type":"int","min":1,"max":200,"qr":"optional"}`, "+5", ErrFormat},
	{`{"key":"f","name":"核定载人数","type":"int","min":1,"max":200,"qr":"optional"}`, "5.0", ErrFormat},
	{`{"key":"f","name":"核定载人数","type":"int","qr":"optional"}`, "-7", nil},
	{`{"key":"f","name":"核定载人数","type":"int","qr":"optional"}`, "-0", ErrFormat},
	{`{"key":"f","name":"核定载人数","type":"int","qr":"optional"}`, "99999999999999999999", ErrFormat},
	// area
	{`{"key":"f","name":"房屋建筑面积","type":"area","qr":"optional"}`, "89.56", nil},
	{`{"key":"f","name":"房屋建筑面积","type":"area","qr":"optional"}`, "89.56㎡", nil},
	{`{"key":"f","name":"房屋建筑面积","type":"area","qr":"optional"}`, "12345.67平方米", nil},
	{`{"key":"f","name":"房屋建筑面积","type":"area","qr":"optional"}`, "120", nil},
	{`{"key":"f","name":"房屋建筑面积","type":"area","qr":"optional"}`, "89.56789", ErrFormat},
	{`{"key":"f","name":"房屋建筑面积","type":"area","qr":"optional"}`, "-1", ErrFormat},
	{`{"key":"f","name":"房屋建筑面积","type":"area","qr":"optional"}`, "089", ErrFormat},
	{`{"key":"f","name":"房屋建筑面积","type":"area","qr":"optional"}`, "89.56 ㎡", ErrFormat},
}

func TestFieldTypes(t *testing.T) {
	valid := make(map[FieldType]int)
	invalid := make(map[FieldType]int)
	for _, tc := range fieldTypeCases {
		f := fieldOf(t, tc.spec)
		err := f.Validate(tc.value)
		name := string(f.Type) + "/" + tc.value
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: unexpected error: %v", name, err)
		case tc.want != nil && err == nil:
			t.Errorf("%s: no error, want %v", name, tc.want)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: error %v, want %v", name, err, tc.want)
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "f" || fe.Label == "" || fe.Reason == "" || fe.Err == nil {
				t.Errorf("%s: error %#v is not a complete *FieldError", name, err)
			}
			if !strings.HasPrefix(err.Error(), `field "f" (`) {
				t.Errorf("%s: message %q", name, err)
			}
		}
		if tc.want == nil {
			valid[f.Type]++
		} else {
			invalid[f.Type]++
		}
	}
	for _, typ := range FieldTypes() {
		if valid[typ] == 0 || invalid[typ] == 0 {
			t.Errorf("type %s: %d valid and %d invalid cases; want both", typ, valid[typ], invalid[typ])
		}
	}
}

func TestFieldIdentErrors(t *testing.T) {
	f := fieldOf(t, `{"key":"uscc","name":"统一社会信用代码","type":"uscc","qr":"always"}`)
	err := f.Validate("91310115MA1FPA014H")
	var ie *ident.Error
	if !errors.As(err, &ie) || ie.Kind != "uscc" {
		t.Fatalf("errors.As(*ident.Error) failed for %v", err)
	}
	want := `field "uscc" (统一社会信用代码): uscc "91310115MA1FPA014H": check character is 'H', want 'G'`
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
}

func TestFieldRequired(t *testing.T) {
	req := fieldOf(t, `{"key":"name","name":"名称","type":"text","max_len":10,"required":true,"qr":"always"}`)
	opt := fieldOf(t, `{"key":"name","name":"名称","type":"text","max_len":10,"qr":"always"}`)
	if err := req.Validate(""); !errors.Is(err, ErrRequired) {
		t.Errorf("required, empty: %v, want ErrRequired", err)
	}
	if err := opt.Validate(""); err != nil {
		t.Errorf("optional, empty: %v", err)
	}
	if got, want := req.Validate("").Error(), `field "name" (名称): required`; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

func TestParseTerm(t *testing.T) {
	tm, err := ParseTerm("2020-01-02至长期")
	if err != nil || !tm.LongTerm || !tm.HasStart() || !tm.End.IsZero() || tm.Start.Format(DateLayout) != "2020-01-02" {
		t.Errorf("ParseTerm(open) = %+v, %v", tm, err)
	}
	tm, err = ParseTerm("长期")
	if err != nil || !tm.LongTerm || tm.HasStart() {
		t.Errorf("ParseTerm(长期) = %+v, %v", tm, err)
	}
	tm, err = ParseTerm("2020-01-02至2025-01-01")
	if err != nil || tm.LongTerm || tm.End.Format(DateLayout) != "2025-01-01" {
		t.Errorf("ParseTerm(closed) = %+v, %v", tm, err)
	}
	if _, err := ParseTerm("2025-01-02至2020-01-01"); !errors.Is(err, ErrRange) {
		t.Errorf("ParseTerm(reversed): %v, want ErrRange", err)
	}
	if _, err := ParseTerm("soon"); !errors.Is(err, ErrFormat) {
		t.Errorf("ParseTerm(soon): %v, want ErrFormat", err)
	}
}

func TestLongValueMessageIsShort(t *testing.T) {
	f := fieldOf(t, `{"key":"f","name":"日期","type":"date","qr":"always"}`)
	err := f.Validate(strings.Repeat("长", 100000))
	if err == nil || len(err.Error()) > 400 {
		t.Errorf("error for a huge value: %d bytes", len(err.Error()))
	}
}

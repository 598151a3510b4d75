package archive

import (
	"slices"
	"testing"

	"elicense/certs/catalog"
)

func testFace() Face {
	return Face{
		Title: "营业执照",
		Fields: []FaceField{
			{"name", "名称", "甲公司"},
			{"business_scope", "经营范围", "一\r\n 二三 \n\n"},
		},
		Footer: []Item{{ItemIssuer, "某局"}, {ItemIssuedOn, "2026年1月5日"}, {ItemID, "1.2.3"}},
	}
}

// TestFaceDiff reads pages as issuer/ofdfile lays them out, and changed.
func TestFaceDiff(t *testing.T) {
	footer := []string{"颁发机构：某局", "颁证日期：2026年1月5日", "证照标识：1.2", ".3"}
	one := append([]string{"营业执照", "名称", "甲", "公司", "经营范围", "一", "二三", ""}, footer...)
	split := [][]string{
		{"营业执照", "名称", "甲公司", "经营范围", "一", "第 1 页 共 3 页"},
		{"营业执照", "经营范", "围（续）", "二三", "第 2 页 共 3 页"},
		{"营业执照", "经营范围（续）", footer[0], footer[1], footer[2], footer[3], "第 3 页 共 3 页"},
	}
	tests := []struct {
		name  string
		pages [][]string
		item  string // "" none; "-" text after the last item
		found string
	}{
		{"one page", [][]string{one}, "", ""},
		{"split, the label continued, empty lines on the last page", split, "", ""},
		{"without page numbers", [][]string{split[0][:5], split[1][:4], split[2][:6]}, "", ""},
		{"no pages", nil, ItemName, ""},
		{"another title", [][]string{append([]string{"营业执照（副本）"}, one[1:]...)}, ItemName, "营业执照（副本）"},
		{"a value changed", [][]string{replace(one, "公司", "分公司")}, "名称", "甲分公"},
		{"a label changed", [][]string{replace(one, "经营范围", "许可范围")}, "经营范围", "许可范围"},
		{"a value changed after a page", [][]string{split[0], replace(split[1], "二三", "二四"), split[2]}, "经营范围", "一二四"},
		{"the continued label of another field", [][]string{split[0], replace(split[1], "经营范", "名"), split[2]}, "经营范围", "一名围"},
		{"the date changed", [][]string{replace(one, footer[1], "颁证日期：2026年1月6日")}, ItemIssuedOn, "颁证日期：2026年1月6日"},
		{"the identifier cut", [][]string{one[:len(one)-1]}, ItemID, "证照标识：1.2"},
		{"text after the last item", [][]string{append(slices.Clone(one), "（已注销）")}, "-", "（已注销）"},
		{"text between items", [][]string{replace(one, "二三", "二三（已变更）")}, ItemIssuer, "（已变更）颁发"},
		{"a page number of another page", [][]string{split[0], replace(split[1], "第 2 页 共 3 页", "第 3 页 共 3 页"), split[2]}, ItemIssuer, "第 3 页 共"},
		{"a page without its title", [][]string{split[0], split[1][1:], split[2]}, ItemName, "经营范"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := testFace().Diff(tc.pages)
			switch {
			case tc.item == "" && !ok:
				t.Fatalf("a difference: %+v", d)
			case tc.item == "":
			case ok:
				t.Fatal("no difference")
			case tc.item == "-" && (d.Item != "" || d.Found != tc.found):
				t.Errorf("%+v, want text after the last item %q", d, tc.found)
			case tc.item != "-" && (d.Item != tc.item || d.Found != tc.found):
				t.Errorf("%+v, want item %s showing %q", d, tc.item, tc.found)
			}
		})
	}
}

func replace(objs []string, old, new string) []string {
	out := slices.Clone(objs)
	for i, s := range out {
		if s == old {
			out[i] = new
		}
	}
	return out
}

// TestLicenceFace derives the face of a class with printed and unprinted
// fields, and of an empty one.
func TestLicenceFace(t *testing.T) {
	cl, ok := catalog.Default().Lookup("marriage-certificate")
	if !ok {
		t.Fatal("no marriage-certificate class")
	}
	fields := map[string]string{}
	var printed, unprinted int
	for _, fd := range cl.Fields {
		fields[fd.Key] = "v" + fd.Key
		if fd.Printed {
			printed++
		} else {
			unprinted++
		}
	}
	if unprinted == 0 {
		t.Fatalf("class %s prints every field; the test wants one it does not", cl.Key)
	}
	f := LicenceFace(cl, fields, "某局", "2026-01-05", "1.2.3")
	if f.Title != cl.NameZH || len(f.Fields) != printed {
		t.Fatalf("title %q, %d fields, want %q, %d", f.Title, len(f.Fields), cl.NameZH, printed)
	}
	for _, fd := range f.Fields {
		c, _ := cl.Field(fd.Key)
		if !c.Printed || fd.Label != c.Label || fd.Value != "v"+fd.Key {
			t.Errorf("%+v", fd)
		}
	}
	want := []Item{{ItemIssuer, "某局"}, {ItemIssuedOn, "2026年1月5日"}, {ItemID, "1.2.3"}}
	if !slices.Equal(f.Footer, want) {
		t.Errorf("footer %v, want %v", f.Footer, want)
	}
	if e := LicenceFace(cl, nil, "", "", ""); len(e.Fields) != 0 || e.Footer[1].Value != "" {
		t.Errorf("empty licence: %+v", e)
	}
}

func TestFaceText(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "a": "a", " a \r\n b\rc\n": "abc", "一 二": "一 二", "\n\n": "",
	} {
		if got := FaceText(in); got != want {
			t.Errorf("FaceText(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"2026-01-05": "2026年1月5日", "2026-12-31": "2026年12月31日", "长期": "长期", "": ""} {
		if got := ChineseDate(in); got != want {
			t.Errorf("ChineseDate(%q) = %q, want %q", in, got, want)
		}
	}
}

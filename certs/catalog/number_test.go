package catalog_test

import (
	"testing"

	"elicense/certs/catalog"
)

// The licence's number is the one issued, else its class's number field.
func TestNumber(t *testing.T) {
	cat := catalog.Default()
	food, _ := cat.Lookup("food-operation-permit")
	biz, _ := cat.Lookup("business-license")
	fields := map[string]string{"permit_no": "JY13101150001234"}
	for _, tc := range []struct {
		cl             *catalog.Class
		issued, want   string
		fieldsOfRecord map[string]string
	}{
		{food, "", "JY13101150001234", fields},
		{food, "JY13101150009999", "JY13101150009999", fields},
		{food, "", "", map[string]string{}},
		{biz, "", "", map[string]string{"permit_no": "x"}},
		{biz, "N-1", "N-1", nil},
	} {
		if got := tc.cl.Number(tc.issued, tc.fieldsOfRecord); got != tc.want {
			t.Errorf("%s Number(%q) = %q, want %q", tc.cl.Key, tc.issued, got, tc.want)
		}
	}
	if food.NumberField != "permit_no" || biz.NumberField != "" {
		t.Errorf("number fields %q %q", food.NumberField, biz.NumberField)
	}
}

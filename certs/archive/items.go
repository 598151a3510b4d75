package archive

import (
	"elicense/certs/catalog"
	"elicense/certs/credential"
	"elicense/certs/ident"
)

// Names of the GB/T 36903 metadata items a licence file carries
// (docs/formats.md §5, Our licence file), as LicenceItems gives them.
const (
	ItemID             = "证照标识"
	ItemTypeCode       = "证照类型代码"
	ItemName           = "证照名称"
	ItemNumber         = "证照编号"
	ItemIssuer         = "颁发机构"
	ItemIssuerCode     = "颁发机构代码"
	ItemIssuedOn       = "颁证日期"
	ItemValidFrom      = "有效期起始日期"
	ItemValidUntil     = "有效期截止日期"
	ItemHolder         = "持证主体"
	ItemHolderCodeType = "持证主体代码类型"
	ItemHolderCode     = "持证主体代码"
	// ItemSeal names the seal that sealed the file, not a fact of the
	// credential: the archive's file is sealed by the agency's current
	// licence-face seal, which may not be the one the credential names.
	ItemSeal = "电子印章标识"
)

// LicenceNames are the item names LicenceItems may give: a file's item
// of one of these names must be the credential's; items of other names
// (a later version's additions) are not the credential's to vouch for.
var LicenceNames = []string{ItemID, ItemTypeCode, ItemName, ItemNumber, ItemIssuer, ItemIssuerCode,
	ItemIssuedOn, ItemValidFrom, ItemValidUntil, ItemHolder, ItemHolderCodeType, ItemHolderCode}

// LicenceItems are the GB/T 36903 items of the licence l of class cl, as
// issuer/ofdfile writes them into the licence file from the same facts,
// in order, the seal's aside. A verifier compares a file's items with
// them to tie the file to the credential it is archived with.
func LicenceItems(l *credential.License, cl *catalog.Class) []Item {
	f := l.Fields
	issuedOn := l.IssuedOn.Format(credential.DateLayout)
	from, until := issuedOn, credential.LongTerm
	if t, ok := cl.ValidityTerm(f); ok {
		if t.HasStart() {
			from = t.Start.Format(credential.DateLayout)
		}
		if !t.LongTerm && !t.End.IsZero() {
			until = t.End.Format(credential.DateLayout)
		}
	}
	items := []Item{{ItemID, l.ID}, {ItemTypeCode, cl.TypeCode}, {ItemName, cl.NameZH}}
	if n := cl.Number(l.Number, f); n != "" {
		items = append(items, Item{ItemNumber, n})
	}
	items = append(items, Item{ItemIssuer, l.IssuerName}, Item{ItemIssuerCode, l.IssuerCode},
		Item{ItemIssuedOn, issuedOn}, Item{ItemValidFrom, from}, Item{ItemValidUntil, until},
		Item{ItemHolder, f[cl.HolderNameField]})
	holderCode := f[cl.HolderCodeField]
	// The kind of code only when the code shows it, as the file says it.
	switch {
	case ident.ValidateUSCC(holderCode) == nil:
		items = append(items, Item{ItemHolderCodeType, "统一社会信用代码"})
	case ident.ValidateResidentID(holderCode) == nil:
		items = append(items, Item{ItemHolderCodeType, "公民身份号码"})
	}
	if hf, ok := cl.Field(cl.HolderCodeField); ok && hf.Printed && holderCode != "" {
		items = append(items, Item{ItemHolderCode, holderCode})
	}
	return items
}

// ItemMismatch is the first difference between a file's items (got) and
// the credential's (want, LicenceItems): the item's name and both
// values, "" for an absent one. Items of got whose names are not
// LicenceNames are ignored; ok is true when there is no difference.
func ItemMismatch(got, want []Item) (name, gotValue, wantValue string, ok bool) {
	known := make(map[string]bool, len(LicenceNames))
	for _, n := range LicenceNames {
		known[n] = true
	}
	have := map[string][]string{}
	for _, it := range got {
		if known[it.Name] {
			have[it.Name] = append(have[it.Name], it.Value)
		}
	}
	expected := map[string]bool{}
	for _, it := range want {
		expected[it.Name] = true
		vs := have[it.Name]
		switch {
		case len(vs) == 0:
			return it.Name, "", it.Value, false
		case len(vs) > 1 || vs[0] != it.Value:
			return it.Name, vs[len(vs)-1], it.Value, false
		}
	}
	for _, n := range LicenceNames {
		if vs := have[n]; len(vs) > 0 && !expected[n] {
			return n, vs[0], "", false
		}
	}
	return "", "", "", true
}

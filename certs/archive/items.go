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

// ItemQR names the static QR token a licence file carries after its
// seal (证照二维码): what the page draws, as text, for a verifier to look
// the licence up by (verifier/ofd). Like ItemSeal it is not compared with
// the credential: LicenceItems does not give it.
const ItemQR = "证照二维码"

// LicenceNames are the item names LicenceItems may give: a file's item
// of one of these names must be the credential's; items of other names
// (a later version's additions) are not the credential's to vouch for.
var LicenceNames = []string{ItemID, ItemTypeCode, ItemName, ItemNumber, ItemIssuer, ItemIssuerCode,
	ItemIssuedOn, ItemValidFrom, ItemValidUntil, ItemHolder, ItemHolderCodeType, ItemHolderCode}

// FileLicence is what a licence file's items are made from: the facts of
// the licence as its maker holds them (issuer/ofdfile's Licence) or as
// its credential says them (LicenceItems).
type FileLicence struct {
	ID         string // 证照标识, the GB/T 36904 identifier
	Number     string // 证照编号 as printed: the licence's, else its class's number field (catalog.Class.Number); "" for none
	IssuerName string // 颁发机构
	IssuerCode string // 颁发机构代码
	IssuedOn   string // 颁证日期, YYYY-MM-DD
	Fields     map[string]string
}

// FileItems are the GB/T 36903 items of the licence file of l, of class
// cl, in the order issuer/ofdfile writes them as OFD.xml's CustomDatas
// (docs/formats.md §5): the licence's items (LicenceItems), then the
// seal's esID (ItemSeal) and, when qr is not "", the static QR token
// (ItemQR). The file's maker and its checker both take the items from
// here, so that what the archive verifier expects of a file is what the
// maker wrote, not a second reading of the rule.
func FileItems(cl *catalog.Class, l FileLicence, esID, qr string) []Item {
	items := append(licenceItems(cl, l), Item{ItemSeal, esID})
	if qr != "" {
		items = append(items, Item{ItemQR, qr})
	}
	return items
}

// LicenceItems are the GB/T 36903 items of the licence l of class cl,
// which FileItems writes into the licence file from the same facts, in
// order, the seal's and the QR's aside. A verifier compares a file's
// items with them to tie the file to the credential it is archived with.
func LicenceItems(l *credential.License, cl *catalog.Class) []Item {
	return licenceItems(cl, FileLicence{
		ID: l.ID, Number: cl.Number(l.Number, l.Fields), IssuerName: l.IssuerName, IssuerCode: l.IssuerCode,
		IssuedOn: l.IssuedOn.Format(credential.DateLayout), Fields: l.Fields,
	})
}

func licenceItems(cl *catalog.Class, l FileLicence) []Item {
	f := l.Fields
	from, until := l.IssuedOn, credential.LongTerm
	if t, ok := cl.ValidityTerm(f); ok {
		if t.HasStart() {
			from = t.Start.Format(credential.DateLayout)
		}
		if !t.LongTerm && !t.End.IsZero() {
			until = t.End.Format(credential.DateLayout)
		}
	}
	items := []Item{{ItemID, l.ID}, {ItemTypeCode, cl.TypeCode}, {ItemName, cl.NameZH}}
	if l.Number != "" {
		items = append(items, Item{ItemNumber, l.Number})
	}
	items = append(items, Item{ItemIssuer, l.IssuerName}, Item{ItemIssuerCode, l.IssuerCode},
		Item{ItemIssuedOn, l.IssuedOn}, Item{ItemValidFrom, from}, Item{ItemValidUntil, until},
		Item{ItemHolder, f[cl.HolderNameField]})
	holderCode := f[cl.HolderCodeField]
	// The kind of code only when the code shows it: not guessed.
	switch {
	case ident.ValidateUSCC(holderCode) == nil:
		items = append(items, Item{ItemHolderCodeType, "统一社会信用代码"})
	case ident.ValidateResidentID(holderCode) == nil:
		items = append(items, Item{ItemHolderCodeType, "公民身份号码"})
	}
	// The holder's code only for classes whose paper licence prints it:
	// the file goes wherever the paper goes.
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

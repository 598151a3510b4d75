package ident_test

import (
	"errors"
	"fmt"

	"elicense/certs/ident"
)

func ExampleValidateUSCC() {
	for _, code := range []string{"9144030071526726XG", "9144030071526726XA", "9144030071526726xg"} {
		err := ident.ValidateUSCC(code)
		fmt.Println(err == nil, errors.Is(err, ident.ErrCheck), err)
	}
	// Output:
	// true false <nil>
	// false true uscc "9144030071526726XA": check character is 'A', want 'G'
	// false false uscc "9144030071526726xg": character 'x' at position 16 is lower-case; want a digit or upper-case letter other than I, O, S, V, Z
}

func ExampleValidateResidentID() {
	fmt.Println(ident.ValidateResidentID("11010519491231002X"))
	fmt.Println(ident.ValidateResidentID("11010519490231002X"))
	// Output:
	// <nil>
	// resident-id "11010519490231002X": birth date 19490231 is not a calendar date: February 1949 has 28 days
}

func ExampleParseLicenseID() {
	id, err := ident.ParseLicenseID("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id.TypeCode, id.IssuerCode, id.Serial, id.Version)
	next, _ := id.NextVersion()
	fmt.Println(next)
	// Output:
	// 11100000000013338W011 11430000006122244L 20230000403 1
	// 1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S
}

func ExampleLicenseID_String() {
	id := ident.LicenseID{
		TypeCode:   "11100000000013338W011",
		IssuerCode: "9144030071526726XG",
		Serial:     "7",
		Version:    1,
	}
	if err := id.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(id)
	// Output:
	// 1.2.156.3005.2.11100000000013338W011.9144030071526726XG.7.001.2
}

func ExampleMod3736Check() {
	c, _ := ident.Mod3736Check("A12425GABC1234002")
	fmt.Printf("%c\n", c)
	// Output:
	// M
}

package ident

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"uscc check", ValidateUSCC("91110000600037341N"),
			`uscc "91110000600037341N": check character is 'N', want 'L'`},
		{"uscc letters", ValidateUSCC("9111000060003IOZSV"),
			`uscc "9111000060003IOZSV": character 'I' at position 13 is not allowed; GB 32100 never uses the letters I, O, S, V, Z`},
		{"uscc lower", ValidateUSCC("91110000600037341l"),
			`uscc "91110000600037341l": character 'l' at position 17 is lower-case; want a digit or upper-case letter other than I, O, S, V, Z`},
		{"uscc region", ValidateUSCC("91A100006000373411"),
			`uscc "91A100006000373411": character 'A' at position 2 is not a digit; the administrative-division code (positions 2-7) is numeric`},
		{"uscc authority", ValidateUSCC("B1110000600037341J"),
			`uscc "B1110000600037341J": registration-authority code 'B' is not assigned by GB 32100; want one of 1-9, A, N, Y`},
		{"uscc category", ValidateUSCC("94110000600037341B"),
			`uscc "94110000600037341B": institution-category code '4' is not assigned to registration authority '9'; want one of 1, 2, 3`},
		{"uscc embedded", ValidateUSCC("91110000600037342P"),
			`uscc "91110000600037342P": embedded organization code 60003734-2: check character is '2', want '1'`},
		{"uscc length", ValidateUSCC("12345"),
			`uscc "12345": has 5 characters, want 18`},
		{"uscc non-ASCII", ValidateUSCC("91110000\uff1600037341L"),
			`uscc "91110000\uff1600037341L": character '\uff16' at position 8 is not allowed; want a digit or upper-case letter other than I, O, S, V, Z`},
		{"uscc invalid UTF-8", ValidateUSCC("9111000060003734\xff\xfe"),
			`uscc "9111000060003734\xff\xfe": character byte 0xFF (invalid UTF-8) at position 16 is not allowed; want a digit or upper-case letter other than I, O, S, V, Z`},
		{"resident lower x", ValidateResidentID("44011320141005001x"),
			`resident-id "44011320141005001x": check character is lower-case 'x'; want upper-case 'X'`},
		{"resident month", ValidateResidentID("360426199113010079"),
			`resident-id "360426199113010079": birth date 19911301 is not a calendar date: month 13`},
		{"resident day", ValidateResidentID("110105190002290017"),
			`resident-id "110105190002290017": birth date 19000229 is not a calendar date: February 1900 has 28 days`},
		{"resident early", ValidateResidentID("110105179912310016"),
			`resident-id "110105179912310016": birth date 17991231 is before 18000101`},
		{"resident province", ValidateResidentID("990426199112010074"),
			`resident-id "990426199112010074": address code 990426: 99 is not a province-level code of GB/T 2260`},
		{"resident check", ValidateResidentID("110105194912310021"),
			`resident-id "110105194912310021": check character is '1', want 'X'`},
		{"org check", ValidateOrgCode("71526726-1"),
			`org-code "71526726-1": check character is '1', want 'X'`},
		{"org separator", ValidateOrgCode("71526726_X"),
			`org-code "71526726_X": character '_' at position 8 is not the separator '-'`},
		{"org length", ValidateOrgCode("7152"),
			`org-code "7152": has 4 characters, want 9 (XXXXXXXXC) or 10 (XXXXXXXX-C)`},
		{"license root", ValidateLicenseID("1.2.156.3005.1.X"),
			`license-id "1.2.156.3005.1.X": does not begin with the root "1.2.156.3005.2.": differs at position 13`},
		{"license parts", ValidateLicenseID("1.2.156.3005.2.A.B"),
			`license-id "1.2.156.3005.2.A.B": has 2 dot-separated parts after the root, want 5 (type code, issuer code, serial, version, check)`},
		{"license check", ValidateLicenseID("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V"),
			`license-id "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V": check character is 'V', want 'U'`},
		{"license issuer", ValidateLicenseID("1.2.156.3005.2.11100000000013338W011.11430000006122244M.20230000403.001.U"),
			`license-id "1.2.156.3005.2.11100000000013338W011.11430000006122244M.20230000403.001.U": issuer code: check character is 'M', want 'L'`},
		{"license type agency", ValidateLicenseID("1.2.156.3005.2.11100000000013338X011.11430000006122244L.20230000403.001.U"),
			`license-id "1.2.156.3005.2.11100000000013338X011.11430000006122244L.20230000403.001.U": type code: defining agency: check character is 'X', want 'W'`},
		{"license serial", ValidateLicenseID("1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023000040a.001.U"),
			`license-id "1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023000040a.001.U": serial: character 'a' at position 10 is lower-case; want a digit or upper-case letter`},
		{"license version", ValidateLicenseID("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.000.U"),
			`license-id "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.000.U": version 000 is out of range; want 001 to 999`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("got nil error")
			}
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestErrorMethods(t *testing.T) {
	var nilErr *Error
	if got := nilErr.Error(); got != "<nil>" {
		t.Errorf("nil Error() = %q", got)
	}
	if nilErr.Unwrap() != nil {
		t.Error("nil Unwrap() != nil")
	}
	e := &Error{Kind: "uscc", Value: "x", Pos: -1, Err: ErrLength}
	if got, want := e.Error(), `uscc "x": ident: wrong length`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, ErrLength) || errors.Is(e, ErrCheck) {
		t.Error("errors.Is does not follow Err")
	}
	// Long values are shortened in the message but kept whole in Value.
	long := strings.Repeat("9", 1<<20)
	err := ValidateUSCC(long)
	var got *Error
	if !errors.As(err, &got) || got.Value != long {
		t.Fatalf("got %v", err)
	}
	want := `uscc "` + strings.Repeat("9", maxQuoted) + `"...(1048576 characters): has 1048576 characters, want 18`
	if msg := err.Error(); msg != want {
		t.Errorf("Error() = %q, want %q", msg, want)
	}
}

func TestCheckCharFuncs(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) (byte, error)
		in   string
		want byte
		err  error
	}{
		{"uscc", USCCCheckChar, "91110000600037341", 'L', nil},
		{"uscc tencent", USCCCheckChar, "9144030071526726X", 'G', nil},
		{"uscc zero", USCCCheckChar, "11100000000013338", 'W', nil},
		{"uscc short", USCCCheckChar, "9111000060003734", 0, ErrLength},
		{"uscc charset", USCCCheckChar, "9111000060003734I", 0, ErrCharset},
		{"resident", ResidentIDCheckChar, "11010519491231002", 'X', nil},
		{"resident 1880", ResidentIDCheckChar, "44052418800101001", '4', nil},
		{"resident long", ResidentIDCheckChar, "110105194912310021", 0, ErrLength},
		{"resident charset", ResidentIDCheckChar, "1101051949123100X", 0, ErrCharset},
		{"org", OrgCodeCheckChar, "71526726", 'X', nil},
		{"org zero", OrgCodeCheckChar, "00000000", '0', nil},
		{"org letters", OrgCodeCheckChar, "MA1K3BTP", '2', nil},
		{"org charset", OrgCodeCheckChar, "7152672x", 0, ErrCharset},
		{"org length", OrgCodeCheckChar, "7152672", 0, ErrLength},
		{"mod37-36", Mod3736Check, "A12425GABC1234002", 'M', nil},
		{"mod37-36 B", Mod3736Check, "B159D8FA01240000", 'K', nil},
		{"mod37-36 empty", Mod3736Check, "", 0, ErrLength},
		{"mod37-36 dot", Mod3736Check, "A1.2", 0, ErrCharset},
		{"mod37-36 lower", Mod3736Check, "a12", 0, ErrCharset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got %q, %v; want error %v", got, err, tt.err)
				}
				checkWellFormed(t, err, tt.in)
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestMod3736Property checks the defining property of the hybrid system:
// appending the check character makes the running value end at 1, and every
// single-character substitution is detected.
func TestMod3736Property(t *testing.T) {
	for _, s := range []string{"0", "Z", "A12425GABC1234002", "11100000000013338W01111430000006122244L20230000403001"} {
		c, err := Mod3736Check(s)
		if err != nil {
			t.Fatal(err)
		}
		full := s + string(c)
		for i := 0; i < len(full); i++ {
			for j := 0; j < len(alnum36); j++ {
				if alnum36[j] == full[i] {
					continue
				}
				mut := full[:i] + string(alnum36[j]) + full[i+1:]
				if c2, _ := Mod3736Check(mut[:len(mut)-1]); c2 == mut[len(mut)-1] {
					t.Fatalf("substitution %q -> %q not detected", full, mut)
				}
			}
		}
	}
}

func TestResidentIDDates(t *testing.T) {
	// Pin the clock to 2026-03-01 00:30 UTC+8 (still 28 February in UTC).
	defer func(old func() time.Time) { now = old }(now)
	now = func() time.Time { return time.Date(2026, 2, 28, 16, 30, 0, 0, time.UTC) }

	mk := func(date string) string {
		first17 := "110105" + date + "001"
		c, err := ResidentIDCheckChar(first17)
		if err != nil {
			t.Fatal(err)
		}
		return first17 + string(c)
	}
	tests := []struct {
		date string
		want error
	}{
		{"20260301", nil}, // today in China
		{"20260302", ErrDate},
		{"20260228", nil},
		{"20240229", nil},
		{"20000229", nil},
		{"19000229", ErrDate},
		{"21000229", ErrDate},
		{"18000101", nil},
		{"17991231", ErrDate},
		{"19491231", nil},
		{"19490431", ErrDate},
		{"19490430", nil},
		{"19490001", ErrDate},
		{"19490100", ErrDate},
		{"00000000", ErrDate},
	}
	for _, tt := range tests {
		id := mk(tt.date)
		err := ValidateResidentID(id)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("ValidateResidentID(%s) = %v, want %v", id, err, tt.want)
		}
	}
	err := ValidateResidentID(mk("20260302"))
	if want := "birth date 20260302 is after today (20260301, UTC+8)"; err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("got %v, want suffix %q", err, want)
	}
}

// TestResidentIDAt judges "today" at the instant given, not the clock.
func TestResidentIDAt(t *testing.T) {
	first17 := "11010520301231001"
	c, err := ResidentIDCheckChar(first17)
	if err != nil {
		t.Fatal(err)
	}
	id := first17 + string(c)
	tests := []struct {
		at   time.Time
		want error
	}{
		{time.Date(2030, 12, 30, 15, 59, 59, 0, time.UTC), ErrDate}, // 2030-12-30 23:59:59 UTC+8
		{time.Date(2030, 12, 30, 16, 0, 0, 0, time.UTC), nil},       // 2030-12-31 00:00 UTC+8
	}
	for _, tt := range tests {
		err := ValidateResidentIDAt(id, tt.at)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("ValidateResidentIDAt(%s, %s) = %v, want %v", id, tt.at, err, tt.want)
		}
	}
}

func TestResidentIDProvinces(t *testing.T) {
	valid := map[string]bool{}
	for _, p := range []int{11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37,
		41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83} {
		valid[string([]byte{byte('0' + p/10), byte('0' + p%10)})] = true
	}
	for p := 0; p < 100; p++ {
		code := string([]byte{byte('0' + p/10), byte('0' + p%10)})
		first17 := code + "0000" + "19900101" + "001"
		c, _ := ResidentIDCheckChar(first17)
		err := ValidateResidentID(first17 + string(c))
		if valid[code] && err != nil {
			t.Errorf("province %s: %v", code, err)
		}
		if !valid[code] && !errors.Is(err, ErrFormat) {
			t.Errorf("province %s: got %v, want ErrFormat", code, err)
		}
	}
}

func TestUSCCCategories(t *testing.T) {
	// Every pair in the table validates once given the right check
	// character; every other pair fails with ErrFormat.
	for a := 0; a < len(usccAlphabet); a++ {
		for c := 0; c < len(usccAlphabet); c++ {
			first17 := string([]byte{usccAlphabet[a], usccAlphabet[c]}) + "110000" + "600037341"
			ch, err := USCCCheckChar(first17)
			if err != nil {
				t.Fatal(err)
			}
			err = ValidateUSCC(first17 + string(ch))
			cats, ok := usccCategories[usccAlphabet[a]]
			if ok && strings.IndexByte(cats, usccAlphabet[c]) >= 0 {
				if err != nil {
					t.Errorf("%s: %v", first17[:2], err)
				}
			} else if !errors.Is(err, ErrFormat) {
				t.Errorf("%s: got %v, want ErrFormat", first17[:2], err)
			}
		}
	}
}

func TestOrgCodeForms(t *testing.T) {
	for _, s := range []string{"71526726-X", "71526726X"} {
		if err := ValidateOrgCode(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	// Every body character value 0-35 contributes as GB 11714 defines.
	for _, c := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		body := "0000000" + string(c)
		got, err := OrgCodeCheckChar(body)
		if err != nil {
			t.Fatal(err)
		}
		v := strings.IndexRune(alnum36, c)
		want := 11 - (v*2)%11
		var wantc byte
		switch want {
		case 10:
			wantc = 'X'
		case 11:
			wantc = '0'
		default:
			wantc = byte('0' + want)
		}
		if got != wantc {
			t.Errorf("OrgCodeCheckChar(%s) = %q, want %q", body, got, wantc)
		}
	}
}

func testID() LicenseID {
	return LicenseID{
		TypeCode:   "11100000000013338W011",
		IssuerCode: "11430000006122244L",
		Serial:     "20230000403",
		Version:    1,
	}
}

func TestLicenseIDString(t *testing.T) {
	id := testID()
	const want = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
	if got := id.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if err := id.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	parsed, err := ParseLicenseID(want)
	if err != nil || parsed != id {
		t.Errorf("ParseLicenseID = %+v, %v; want %+v", parsed, err, id)
	}
	// An invalid id renders without panicking, with '?' for the check.
	bad := LicenseID{TypeCode: "ä", Serial: "x", Version: -7}
	if got := bad.String(); got != "1.2.156.3005.2.ä..x.-7.?" {
		t.Errorf("String() = %q", got)
	}
}

func TestLicenseIDValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*LicenseID)
		want error
		pos  int
	}{
		{"ok", func(*LicenseID) {}, nil, 0},
		{"version 0", func(id *LicenseID) { id.Version = 0 }, ErrFormat, 68},
		{"version 1000", func(id *LicenseID) { id.Version = 1000 }, ErrFormat, 68},
		{"version 999", func(id *LicenseID) { id.Version = 999 }, nil, 0},
		{"empty serial", func(id *LicenseID) { id.Serial = "" }, ErrLength, 56},
		{"long serial", func(id *LicenseID) { id.Serial = strings.Repeat("A", 33) }, ErrLength, 56},
		{"max serial", func(id *LicenseID) { id.Serial = strings.Repeat("Z", 32) }, nil, 0},
		{"serial dot", func(id *LicenseID) { id.Serial = "1.2" }, ErrCharset, 57},
		{"serial non-ASCII", func(id *LicenseID) { id.Serial = "证照1" }, ErrCharset, 56},
		{"issuer", func(id *LicenseID) { id.IssuerCode = "91110000600037341N" }, ErrCheck, 54},
		{"issuer empty", func(id *LicenseID) { id.IssuerCode = "" }, ErrLength, 37},
		{"type short", func(id *LicenseID) { id.TypeCode = "11100000000013338W" }, ErrLength, 15},
		{"type non-ASCII", func(id *LicenseID) { id.TypeCode = "1110000000001333证W011" }, ErrCharset, 31},
		{"type seq", func(id *LicenseID) { id.TypeCode = "11100000000013338WA11" }, ErrCharset, 33},
		{"type agency", func(id *LicenseID) { id.TypeCode = "B1100000000013338W011" }, ErrFormat, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := testID()
			tt.mod(&id)
			err := id.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				if back, perr := ParseLicenseID(id.String()); perr != nil || back != id {
					t.Errorf("round trip: %+v, %v", back, perr)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate() = %v, want %v", err, tt.want)
			}
			var e *Error
			errors.As(err, &e)
			if e.Pos != tt.pos {
				t.Errorf("Pos = %d, want %d (%v)", e.Pos, tt.pos, err)
			}
			checkWellFormed(t, err, id.String())
		})
	}
}

func TestNextVersion(t *testing.T) {
	id := testID()
	next, err := id.NextVersion()
	if err != nil {
		t.Fatal(err)
	}
	const want = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S"
	if next.Version != 2 || next.String() != want {
		t.Errorf("NextVersion() = %s, want %s", next, want)
	}
	if id.Version != 1 {
		t.Error("NextVersion changed its receiver")
	}
	id.Version = 998
	if next, err = id.NextVersion(); err != nil || next.Version != 999 {
		t.Errorf("NextVersion() from 998 = %v, %v", next, err)
	}
	id.Version = 999
	next, err = id.NextVersion()
	if !errors.Is(err, ErrFormat) || next != (LicenseID{}) {
		t.Errorf("NextVersion() from 999 = %v, %v; want ErrFormat", next, err)
	}
	if err != nil && !strings.HasSuffix(err.Error(), "version 999 is the last; a re-issue needs a new serial") {
		t.Errorf("message %q", err)
	}
	var e *Error
	if errors.As(err, &e) && e.Pos != 68 {
		t.Errorf("Pos = %d, want 68", e.Pos)
	}
	id.Version = 0
	if _, err = id.NextVersion(); !errors.Is(err, ErrFormat) {
		t.Errorf("NextVersion() of an invalid id = %v, want ErrFormat", err)
	}
}

func TestParseLicenseIDPositions(t *testing.T) {
	const good = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
	tests := []struct {
		in   string
		want error
		pos  int
	}{
		{good, nil, 0},
		{"1.2.156.3005.2", ErrFormat, 14},
		{"1.2.156.3005.2.", ErrFormat, -1},
		{good + ".", ErrFormat, len(good)},
		{strings.Replace(good, "20230000403", "证照", 1), ErrCharset, 56},
		// Positions count characters, not bytes.
		{"1.2.156.3005.2.证.a.b.c.d.e", ErrFormat, 24},
		{"1.2.156.3005.2.111ä0000000013338W011.a.b.c.d", ErrCharset, 18},
		{strings.Replace(good, "001.U", "0x1.U", 1), ErrCharset, 69},
		{strings.Replace(good, "001.U", "001.UU", 1), ErrLength, 72},
		{strings.Replace(good, "001.U", "001.", 1), ErrLength, 72},
		{strings.Replace(good, "001.U", "001.-", 1), ErrCharset, 72},
	}
	for _, tt := range tests {
		id, err := ParseLicenseID(tt.in)
		if tt.want == nil {
			if err != nil || id.String() != tt.in {
				t.Errorf("ParseLicenseID(%q) = %v, %v", tt.in, id, err)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("ParseLicenseID(%q) = %v, want %v", tt.in, err, tt.want)
			continue
		}
		if id != (LicenseID{}) {
			t.Errorf("ParseLicenseID(%q) returned a non-zero id with an error", tt.in)
		}
		var e *Error
		errors.As(err, &e)
		if e.Pos != tt.pos {
			t.Errorf("ParseLicenseID(%q): Pos = %d, want %d (%v)", tt.in, e.Pos, tt.pos, err)
		}
		checkWellFormed(t, err, tt.in)
	}
}

func TestValidatorsNeverPanic(t *testing.T) {
	inputs := []string{
		"", ".", "-", "X", "x", "\x00", "\xff", "\xc3", "证照", "1.2.156.3005.2.....",
		strings.Repeat(".", 1000), strings.Repeat("9", 1<<16), strings.Repeat("证", 18),
		"91110000600037341\xff", "1101051949123100\xe4\xb8", "71526726-\u00d7",
		"1.2.156.3005.2.\xff.\xff.\xff.\xff.\xff",
		"1.2.156.3005.2.11100000000013338W01\xe8\xaf\x81.11430000006122244L.1.001.U",
	}
	for _, s := range inputs {
		for _, f := range []func(string) error{ValidateUSCC, ValidateResidentID, ValidateOrgCode, ValidateLicenseID} {
			if err := f(s); err != nil {
				checkWellFormed(t, err, s)
			}
		}
		for _, f := range []func(string) (byte, error){USCCCheckChar, ResidentIDCheckChar, OrgCodeCheckChar, Mod3736Check} {
			if _, err := f(s); err != nil {
				checkWellFormed(t, err, s)
			}
		}
	}
}

func BenchmarkValidateUSCC(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateUSCC("9144030071526726XG"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateResidentID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateResidentID("11010519491231002X"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseLicenseID(b *testing.B) {
	const s = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseLicenseID(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLicenseIDString(b *testing.B) {
	id := testID()
	b.ReportAllocs()
	for b.Loop() {
		_ = id.String()
	}
}

package conformance

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// Vectors published by the standards elicense follows, copied with their
// source. They are not made by this project, so they catch a reading of a
// standard that our code and our own vectors share. Each is a plain
// computation (no trust data): the input, and the expected output in
// input.want; expected is VALID when the computation must give want,
// MALFORMED when the input must be refused.

type stdInput struct {
	Algorithm string `json:"algorithm"`
	// Each algorithm uses some of these (README: standards.json).
	Message    string   `json:"message,omitempty"`
	MessageHex string   `json:"message_hex,omitempty"`
	Repeat     int      `json:"repeat,omitempty"`
	ID         string   `json:"id,omitempty"`
	PublicX    string   `json:"public_x,omitempty"`
	PublicY    string   `json:"public_y,omitempty"`
	Private    string   `json:"d,omitempty"`
	Leaves     []string `json:"leaves_hex,omitempty"`
	Text       string   `json:"text,omitempty"`
	Bits       int      `json:"bits,omitempty"`
	Statuses   []int    `json:"statuses,omitempty"`
	Value      string   `json:"value,omitempty"`
	Index      uint64   `json:"index,omitempty"`
	Size       uint64   `json:"size,omitempty"`
	Size1      uint64   `json:"size1,omitempty"`
	Size2      uint64   `json:"size2,omitempty"`
	Proof      []string `json:"proof_hex,omitempty"`
	Root1      string   `json:"root1,omitempty"`
	Want       string   `json:"want,omitempty"`
	WantR      string   `json:"want_r,omitempty"`
	WantS      string   `json:"want_s,omitempty"`
	WantZ      string   `json:"want_z,omitempty"`
}

// rfc6962JSON is internal/ledger/tlog/testdata/rfc6962_sha256.json: the
// Certificate Transparency tree vectors (published, SHA-256).
//
//go:embed published/rfc6962_sha256.json
var rfc6962JSON []byte

type rfc6962Data struct {
	Source    string
	Leaves    []string
	EmptyRoot string `json:"empty_root"`
	Roots     []string
	Inclusion []struct {
		Index, Size uint64
		Proof       []string
	}
	Consistency []struct {
		Size1, Size2 uint64
		Proof        []string
	}
}

func (k *kit) standardVectors() error {
	const f = "standards.json"
	add := func(rules []string, desc, source, want string, in stdInput) {
		k.add(f, Vector{Rules: rules, Description: desc, Source: source, Input: in, Expected: want})
	}
	add([]string{"GM-06"}, "SM3(\"abc\")", "GB/T 32905-2016 (= GM/T 0004-2012) Appendix A, example 1", "VALID",
		stdInput{Algorithm: "sm3", Message: "abc", Repeat: 1, Want: "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"})
	add([]string{"GM-06"}, "SM3 of the 64-byte message \"abcd\" × 16", "GB/T 32905-2016 (= GM/T 0004-2012) Appendix A, example 2", "VALID",
		stdInput{Algorithm: "sm3", Message: "abcd", Repeat: 16, Want: "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"})
	sm2 := stdInput{Algorithm: "sm2-verify", Message: "message digest", ID: "1234567812345678",
		PublicX: "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020",
		PublicY: "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13",
		WantZ:   "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3",
		WantR:   "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3",
		WantS:   "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"}
	src := "GB/T 32918.5-2017 Annex A (= GM/T 0003.5-2012 Annex A), the signature example on the recommended curve (values as in internal/gm/testdata/sm2_sign_vectors.json)"
	add([]string{"GM-01", "GM-04"}, "SM2 signature (r, s) over \"message digest\" with the default ID verifies under the example key (want_z is the example's Z_A, for an implementation to compare)", src, "VALID", sm2)
	bad := sm2
	bad.Message = "message digesT"
	add([]string{"GM-01"}, "the same signature over another message does not verify", src+", message changed", "BAD_SIGNATURE", bad)
	for _, c := range []struct{ in, out, sec string }{
		{"AB", "BB8", "§4.3"}, {"Hello!!", "%69 VD92EX0", "§4.3"}, {"base-45", "UJCLQE7W581", "§4.3"}, {"ietf!", "QED8WEX0", "§4.4"},
	} {
		add([]string{"QR-04"}, "Base45 of \""+c.in+"\"", "RFC 9285 "+c.sec, "VALID", stdInput{Algorithm: "base45-encode", Message: c.in, Want: c.out})
	}
	for _, s := range []string{"GGW", "ZZ"} {
		add([]string{"QR-04"}, "Base45 text "+s+" decodes to a value over 65535 (or 255 for a pair): refused", "RFC 9285 §4 (decoding: values out of range are an error)", "MALFORMED",
			stdInput{Algorithm: "base45-decode", Text: s})
	}
	add([]string{"STATUS-02", "STATUS-06"}, "2-bit status list example: lst inflates to C9 44 F9, statuses 1 2 0 3 0 1 0 1 1 2 3 3",
		"draft-ietf-oauth-status-list, section \"Status List\" (the bits 2 example; the same lst in every draft from -02 to -17)", "VALID",
		stdInput{Algorithm: "status-list", Text: "eNo76fITAAPfAgc", Bits: 2, Statuses: []int{1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3}, Want: "c944f9"})
	add([]string{"STATUS-06"}, "1-bit status list example: lst inflates to B9 A3 (elicense uses bits 2 only; an inflate check)",
		"draft-ietf-oauth-status-list, section \"Status List\" (the bits 1 example)", "VALID",
		stdInput{Algorithm: "zlib-inflate", Text: "eNrbuRgAAhcBXQ", Want: "b9a3"})
	if err := k.rfc6962Vectors(add); err != nil {
		return err
	}
	for _, c := range []struct{ check, value, want, source string }{
		{"resident-id", "11010519491231002X", "VALID", "GB 11643-1999 Appendix A, example (female, Beijing Chaoyang, born 1949-12-31)"},
		{"resident-id", "440524188001010014", "VALID", "GB 11643-1999 Appendix A, example (male, Shantou Chaoyang, born 1880-01-01)"},
		{"uscc", "91110000600037341L", "VALID", "a published code (python-stdnum tests/test_cn_uscc.doctest; GB 32100-2015 itself prints no complete example)"},
		{"uscc", "9144030071526726XG", "VALID", "a published code (python-stdnum tests/test_cn_uscc.doctest)"},
		{"uscc", "91110000600037341N", "MALFORMED", "python-stdnum tests/test_cn_uscc.doctest (invalid check character)"},
		{"org-code", "71526726-X", "VALID", "GB 11714 code embedded in the published USCC 9144030071526726XG"},
		{"license-id", "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U", "VALID",
			"a published GB/T 36904 identifier (public API documentation quoted in certs/ident/testdata/vectors.json); the standard's own example could not be obtained"},
		{"license-id", "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9", "VALID",
			"a published identifier whose issuer code is a 6-digit GB/T 2260 division code: valid under GB/T 36904 when parsing others' identifiers (ID-03); elicense tokens never carry one"},
	} {
		add([]string{map[string]string{"resident-id": "ID-17", "uscc": "ID-12", "org-code": "ID-19", "license-id": "ID-06"}[c.check]},
			c.check+" "+c.value, c.source, c.want, stdInput{Algorithm: c.check, Value: c.value})
	}
	return nil
}

func (k *kit) rfc6962Vectors(add func(rules []string, desc, source, want string, in stdInput)) error {
	var d rfc6962Data
	if err := json.Unmarshal(rfc6962JSON, &d); err != nil {
		return err
	}
	src := d.Source + " elicense hashes with SM3: run the same algorithms with SHA-256."
	roots := append([]string{d.EmptyRoot}, d.Roots...)
	for n := 0; n < len(roots); n++ {
		add([]string{"LEDGER-03"}, "RFC 6962 tree hash (SHA-256) of the first "+itoa(int64(n))+" reference leaves", src, "VALID",
			stdInput{Algorithm: "rfc6962-root-sha256", Leaves: d.Leaves[:n], Want: roots[n]})
	}
	for _, c := range d.Inclusion {
		add([]string{"LEDGER-04"}, fmt.Sprintf("RFC 9162 inclusion proof (SHA-256) of leaf %d in the tree of %d reference leaves", c.Index, c.Size), src, "VALID",
			stdInput{Algorithm: "rfc6962-inclusion-sha256", Leaves: d.Leaves, Index: c.Index, Size: c.Size, Proof: c.Proof, Want: roots[c.Size]})
	}
	for _, c := range d.Consistency {
		add([]string{"LEDGER-05"}, fmt.Sprintf("RFC 9162 consistency proof (SHA-256) from %d to %d reference leaves", c.Size1, c.Size2), src, "VALID",
			stdInput{Algorithm: "rfc6962-consistency-sha256", Size1: c.Size1, Size2: c.Size2, Proof: c.Proof, Root1: roots[c.Size1], Want: roots[c.Size2]})
	}
	return nil
}

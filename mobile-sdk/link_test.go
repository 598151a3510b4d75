package mobilesdk

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"elicense/certs/ledgerevent"
	"elicense/internal/ledger/tlog"
)

func TestParseRequestLink(t *testing.T) {
	const id = "r_0123456789abcdefABCD-_"
	for _, tc := range []struct {
		link, base, id string // base "" = refused
	}{
		{"https://licences.example.gov.cn/wallet/?request=" + id, "https://licences.example.gov.cn", id},
		{"https://licences.example.gov.cn/wallet?request=" + id, "https://licences.example.gov.cn", id},
		{"https://licences.example.gov.cn/v1/requests/" + id, "https://licences.example.gov.cn", id},
		{"http://127.0.0.1:8080/v1/requests/" + id, "http://127.0.0.1:8080", id},
		{"https://gov.example/elicense/wallet/?request=" + id, "https://gov.example/elicense", id},
		{"https://gov.example/elicense/v1/requests/" + id, "https://gov.example/elicense", id},
		{"  https://a.example/wallet/?request=" + id + "\n", "https://a.example", id},
		{"", "", ""},
		{id, "", ""},
		{"https://a.example/wallet/?request=r_short", "", ""},
		{"https://a.example/wallet/?request=" + id + "&request=" + id, "", ""},
		{"https://a.example/wallet/", "", ""},
		{"https://a.example/v1/requests/" + id + "?x=1", "", ""},
		{"https://a.example/v1/requests/" + id + "/more", "", ""},
		{"https://a.example/v1/licences/" + id, "", ""},
		{"ftp://a.example/v1/requests/" + id, "", ""},
		{"https:///v1/requests/" + id, "", ""},
		{"https://user:pw@a.example/v1/requests/" + id, "", ""},
		{"https://a.example/wallet/?request=" + id + "#x", "", ""},
		{"https://a.example/%2e%2e/v1/requests/" + id, "", ""},
		{"https://a.example/wallet/?request=r_0123456789abcdefABCD+/", "", ""},
		{"https://a.example/v1/requests/" + strings.Repeat("r", 3000), "", ""},
	} {
		base, got, err := parseRequestLink(tc.link)
		if tc.base == "" {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("parseRequestLink(%q) = %q, %q, %v; want ErrInvalidArgument", tc.link, base, got, err)
			}
			continue
		}
		if err != nil || base != tc.base || got != tc.id {
			t.Errorf("parseRequestLink(%q) = %q, %q, %v; want %q, %q", tc.link, base, got, err, tc.base, tc.id)
		}
	}
}

func FuzzParseRequestLink(f *testing.F) {
	for _, s := range []string{"https://a.example/wallet/?request=r_0123456789abcdefABCD-_", "http://127.0.0.1/v1/requests/r_0123456789abcdefABCD-_", "", "https://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, link string) {
		base, id, err := parseRequestLink(link)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("error %v is not ErrInvalidArgument", err)
			}
			return
		}
		if !validRequestID(id) {
			t.Fatalf("accepted id %q", id)
		}
		if _, err := issuerBase(base); err != nil {
			t.Fatalf("base %q: %v", base, err)
		}
	})
}

func TestConsentErrors(t *testing.T) {
	for _, tc := range []struct {
		err *ConsentError
		is  error
		zh  string
	}{
		{&ConsentError{Status: 410, Code: CodeRequestExpired}, ErrRequestExpired, "已过期"},
		{&ConsentError{Status: 409, Code: CodeRequestAnswered}, ErrRequestAnswered, "已处理"},
		{&ConsentError{Status: 422, Code: CodeLicenceNotValid}, ErrLicenceNotValid, "联系颁发机构"},
		{&ConsentError{Status: 410, Code: CodeGrantRevoked}, ErrGrantEnded, "已结束"},
		{&ConsentError{Status: 410, Code: CodeGrantUsed}, ErrGrantEnded, "已结束"},
		{&ConsentError{Status: 404, Code: "NOT_FOUND"}, ErrNotFound, "找不到"},
		{&ConsentError{Status: 401, Code: CodeProofInvalid}, ErrConsentRefused, "时间"},
		{&ConsentError{Status: 403, Code: CodeRPSuspended}, ErrConsentRefused, "暂停"},
	} {
		if !errors.Is(tc.err, tc.is) || !errors.Is(tc.err, ErrConsentRefused) || errors.Is(tc.err, ErrClaimRefused) {
			t.Errorf("%s: errors.Is %v false", tc.err.Code, tc.is)
		}
		if zh := ErrorMessage(tc.err, "zh"); !strings.Contains(zh, tc.zh) {
			t.Errorf("%s: zh %q, want %q in it", tc.err.Code, zh, tc.zh)
		}
		if en := ErrorMessage(tc.err, "en"); en == "" || strings.ContainsFunc(en, func(r rune) bool { return r > 0x2e80 }) {
			t.Errorf("%s: en %q", tc.err.Code, en)
		}
	}
	for _, tc := range []struct {
		err    error
		zh, en string
	}{
		{wrapf(ErrNoLicence, "x"), "请先领取相应证照", "Claim it first"},
		{wrapf(ErrForgedAnswer, "x"), "未通过核验", "did not verify"},
		{wrapf(ErrNetwork, "x"), "无法连接发证机构", "Cannot reach the issuer"},
		{&wrapped{reason: ErrWrongPassphrase, err: errors.New("x")}, "口令不正确", "Wrong passphrase"},
		{&StatusError{Status: StatusRevoked}, "吊销", "revoked"},
	} {
		if zh, en := ErrorMessage(tc.err, "zh"), ErrorMessage(tc.err, "en"); !strings.Contains(zh, tc.zh) || !strings.Contains(en, tc.en) {
			t.Errorf("ErrorMessage(%v) = %q, %q", tc.err, zh, en)
		}
	}
	if plain := errors.New("plain"); ErrorMessage(nil, "zh") != "" || !strings.HasPrefix(ErrorMessage(plain, "zh"), "出现意外错误") {
		t.Error("ErrorMessage of nil or a plain error")
	}
}

// FuzzCheckUse feeds the uses checker listed uses as the issuer might
// send them: it never panics, and nothing verifies without a ledger.
func FuzzCheckUse(f *testing.F) {
	claim, err := ledgerevent.Encode(&ledgerevent.Claim{Time: time.Unix(1767000000, 0), Agency: "11310000PDY100010H", ID: "x#y", Device: ledgerevent.Commitment{1}})
	if err != nil {
		f.Fatal(err)
	}
	raw := base64.StdEncoding.EncodeToString(claim)
	for _, s := range []string{
		`{"index":0,"kind":"claim","raw":"` + raw + `"}`,
		`{"index":3,"kind":"grant","raw":"` + raw + `","opening":{"field":"licence","salt":"00","value":"x#y"},"rp":"a","matter":{"code":"1"}}`,
		`{"index":1,"kind":"counter-verified","time":"2026-01-01T00:00:00Z","raw":"!!"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var wu wireUse
		if json.Unmarshal(data, &wu) != nil {
			return
		}
		c := &useChecker{copyID: "x#y", licenceID: "x", grants: map[string]*useEvent{"g_1": {kind: "grant", grant: "g_1"}}, cp: tlog.Checkpoint{Size: 10},
			proof: func(index, size uint64) ([]tlog.Hash, error) { return nil, nil }}
		if u := c.check(&wu); u.Verified || u.Problem == "" {
			t.Fatalf("verified without a ledger: %+v", u)
		}
	})
}

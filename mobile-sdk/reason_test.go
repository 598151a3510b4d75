package mobilesdk

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
)

// answer is what do makes of an issuer's HTTP answer of that status and
// body.
func answer(t *testing.T, status int, body string) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	return postJSON(srv.Client(), srv.URL+"/v1/claims", map[string]string{}, &struct{}{})
}

// unreachable is do's error for an issuer nobody listens for.
func unreachable(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return postJSON(http.DefaultClient, "http://"+addr+"/v1/claims/challenge", nil, &struct{}{})
}

// TestErrorMessages is the map from what went wrong to what the holder
// reads: each error as the SDK makes it (the issuer's answers through the
// real HTTP client code) has its reason, and a Chinese message that says
// what to do (请…) with none of the SDK's English in it.
func TestErrorMessages(t *testing.T) {
	w, err := OpenStorage(NewMemoryStorage(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	_, short := OpenStorage(NewMemoryStorage(), "abc")
	_, emptyCode := w.Claim("http://127.0.0.1:1", " ")
	_, badURL := w.Claim("licences.example.gov.cn", "0000-1A7K-3QM9-PX2R-TB8W")
	_, noRoot := w.Refresh("x") // resolved before the trust root is looked for
	_, notFound := w.Get("1")
	_, noRootRefresh := w.newRefresher()
	for _, tc := range []struct {
		name   string
		err    error
		reason string
		zh     string // a part of the Chinese message
	}{
		{"wrong passphrase", &wrapped{reason: ErrWrongPassphrase, err: errors.New("pbes2: bad padding")}, ReasonWrongPassphrase, "口令不正确"},
		{"short passphrase", short, ReasonPassphraseTooShort, "至少需要 4 个字符"},
		{"no claim code", emptyCode, ReasonClaimCodeMalformed, "领证码格式不正确"},
		{"malformed claim code (422)", answer(t, 422, `{"code":"invalid","field":"code","message":"a claim code is 20 letters and digits"}`), ReasonClaimCodeMalformed, "领证码格式不正确"},
		{"unknown or used claim code (403)", answer(t, 403, `{"code":"forbidden","field":"code","message":"unknown or already used claim code"}`), ReasonClaimCodeRefused, "已使用或已过期"},
		{"expired claim code (403)", answer(t, 403, `{"code":"forbidden","field":"code","message":"the claim code expired"}`), ReasonClaimCodeRefused, "申请新的领证码"},
		{"revoked licence's code (409)", answer(t, 409, `{"code":"conflict","field":"code","message":"the licence is revoked"}`), ReasonLicenceNotValid, "请联系发证机构"},
		{"licence gone (404)", answer(t, 404, `{"code":"not_found","field":"code"}`), ReasonLicenceNotValid, "请联系发证机构"},
		{"no sealed file (FetchOFD's 409)", ofdRefusal(answer(t, 409, `{"code":"conflict","field":"id","message":"conflict: the licence is suspended: no sealed file is made of it"}`)), ReasonNoSealedFile, "不为它加盖电子印章"},
		{"claimed on this device already", answer(t, 409, `{"code":"conflict","field":"device_key"}`), ReasonAlreadyClaimed, "无需再次领取"},
		{"challenge expired", answer(t, 422, `{"code":"invalid","field":"challenge"}`), ReasonClaimRetry, "请重新领取"},
		{"rate limited", answer(t, 429, `{"code":"rate_limited","message":"too many claim attempts"}`), ReasonRateLimited, "请等几分钟"},
		{"rate limited by a proxy", answer(t, 429, `<html>slow down</html>`), ReasonRateLimited, "请等几分钟"},
		{"server error (500)", answer(t, 500, `{"code":"internal"}`), ReasonServerError, "暂时出现故障"},
		{"server unavailable (503)", answer(t, 503, ``), ReasonServerError, "请稍后再试"},
		{"other refusal", answer(t, 400, `{"code":"bad_json"}`), ReasonIssuerRefused, "发证机构拒绝"},
		{"garbage", answer(t, 200, `not json`), ReasonNetwork, "无法连接发证机构"},
		{"no network", unreachable(t), ReasonNetwork, "请检查网络"},
		{"bad issuer address", badURL, ReasonBadServerURL, "发证机构地址不正确"},
		{"forged answer", wrapf(ErrForgedAnswer, "credential: bad signature"), ReasonForgedAnswer, "可能被篡改"},
		{"not in the wallet", notFound, ReasonNotFound, "没有这份证照"},
		{"ambiguous", &AmbiguousError{Ref: "x", IDs: "x#1,x#2", Indexes: "1,3"}, ReasonAmbiguous, "请用序号"},
		{"corrupt store file", &StoreError{File: "lic-00.el", Corrupt: true, err: errors.New("authentication failed")}, ReasonCorrupt, "已损坏"},
		{"storage failure", &StoreError{File: "lic-00.el", err: errors.New("disk full")}, ReasonStorage, "存储空间"},
		{"no browser storage", fmt.Errorf("%w: no IndexedDB", ErrNoStorage), ReasonNoStorage, "普通窗口"},
		{"wallet locked", fmt.Errorf("%w: call open first", ErrLocked), ReasonLocked, "请输入口令"},
		{"revoked licence", &StatusError{Status: StatusRevoked, IssuerName: "上海市市场监督管理局"}, ReasonNotPresentable, "请联系颁发机构上海市市场监督管理局"},
		{"cannot present", wrapf(ErrPresentation, "unknown field"), ReasonCannotPresent, "请取消勾选"},
		{"refresh of a licence not in the wallet", noRoot, ReasonNotFound, "没有这份证照"},
		{"no trust root pinned", noRootRefresh, ReasonNoTrustRoot, "请先领取证照"},
		{"no licence answers", wrapf(ErrNoLicence, "another class"), ReasonNoLicence, "请先领取相应证照"},
		{"request expired", &ConsentError{Status: 410, Code: CodeRequestExpired}, ReasonRequestExpired, "请在办事页面重新发起"},
		{"request answered", &ConsentError{Status: 409, Code: CodeRequestAnswered}, ReasonRequestAnswered, "无需再次处理"},
		{"licence not valid (consent)", &ConsentError{Status: 422, Code: CodeLicenceNotValid}, ReasonLicenceNotValid, "请联系颁发机构"},
		{"relying party suspended", &ConsentError{Status: 403, Code: CodeRPSuspended}, ReasonRPSuspended, "请联系该办事服务"},
		{"proof invalid", &ConsentError{Status: 401, Code: CodeProofInvalid}, ReasonProofInvalid, "请确认本机时间"},
		{"grant used", &ConsentError{Status: 410, Code: CodeGrantUsed}, ReasonGrantEnded, "已结束"},
		{"request unknown", &ConsentError{Status: 404, Code: "not_found"}, ReasonRequestNotFound, "找不到"},
		{"consent rate limited", &ConsentError{Status: 429, Code: "rate_limited"}, ReasonRateLimited, "请等几分钟"},
		{"bad argument", wrapf(ErrInvalidArgument, "pixels per module 0"), ReasonInvalidArgument, "请检查后重试"},
		{"wrapped by a caller", fmt.Errorf("2 of 3 licences not refreshed, the first: %w", unreachable(t)), ReasonNetwork, "无法连接发证机构"},
		{"not the SDK's", errors.New("something else"), ReasonUnknown, "出现意外错误"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error made")
			}
			if got := Reason(tc.err); got != tc.reason {
				t.Errorf("Reason(%v) = %q, want %q", tc.err, got, tc.reason)
			}
			zh, en := ErrorMessage(tc.err, "zh"), ErrorMessage(tc.err, "en")
			if !strings.Contains(zh, tc.zh) || !strings.Contains(zh, "请") {
				t.Errorf("zh %q, want %q in it and what to do (请…)", zh, tc.zh)
			}
			if strings.Contains(zh, "mobilesdk") || strings.Contains(zh, tc.err.Error()) || hasWord(zh) {
				t.Errorf("zh %q has the SDK's English in it", zh)
			}
			if en == "" || strings.ContainsFunc(en, func(r rune) bool { return unicode.Is(unicode.Han, r) }) && tc.reason != ReasonNotPresentable {
				t.Errorf("en %q", en)
			}
			if ErrorMessage(tc.err, "") != zh {
				t.Error("the default language is not Chinese")
			}
		})
	}
	if ErrorMessage(nil, "zh") != "" || Reason(nil) != "" {
		t.Error("nil error")
	}
	// Every reason has words in both languages that say what to do.
	for r, m := range messages {
		if !strings.Contains(m[0], "请") || m[1] == "" {
			t.Errorf("%s: %q", r, m)
		}
	}
}

// hasWord reports an English word of three letters or more: what the
// holder's Chinese message may show of ASCII is codes, URLs and flags.
func hasWord(s string) bool {
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) || r > unicode.MaxASCII }) {
		switch f {
		case "https", "http", "licences", "example", "gov", "trust", "root": // URLs and flags
			continue
		}
		if len(f) >= 3 {
			return true
		}
	}
	return false
}

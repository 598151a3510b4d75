package mobilesdk

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// statusWallet is a wallet in memory holding one test licence per
// record the caller prepares.
func statusWallet(t *testing.T, recs ...*record) *Wallet {
	t.Helper()
	w, err := OpenStorage(NewMemoryStorage(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.save(r); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// unsignedJWS is a compact JWS of the given header and payload JSON with a
// signature of the right size that verifies under no key: for readers
// that do not verify.
func unsignedJWS(header, payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(make([]byte, 64))
}

const credentialHeader = `{"alg":"SM2SM3","kid":"0011223344556677","typ":"elicense+jwt"}`

// issuedBy gives a test record a credential naming an issuer.
func issuedBy(r *record, name string) *record {
	r.Credential = unsignedJWS(credentialHeader, `{"iss":"11310000PDY100010H","lic":{"issuer_name":"`+name+`"}}`)
	return r
}

func TestPresentRefusesByStatus(t *testing.T) {
	const agency = "上海市市场监督管理局"
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	rec := func(id, status string, refreshed int64) *record {
		r := issuedBy(testRecord(id), agency)
		r.Status, r.RefreshedAt = status, refreshed
		if refreshed > 0 {
			r.StatusAt, r.StatusVersion = refreshed-60, 7
		}
		return r
	}
	fresh := now.Add(-time.Hour).Unix()
	w := statusWallet(t,
		rec("revoked", StatusRevoked, fresh),
		rec("suspended", StatusSuspended, fresh),
		rec("superseded", StatusSuperseded, fresh),
		rec("revoked-at-claim", StatusRevoked, 0),
		rec("valid", StatusValid, fresh),
		rec("old", StatusValid, now.Add(-25*time.Hour).Unix()),
		rec("never", StatusValid, 0),
	)
	for _, tc := range []struct {
		id       string
		sentinel error
		zh, en   string
	}{
		{"revoked", ErrRevoked, "该证照已被吊销或注销，不能出示。请联系颁发机构" + agency + "。", "revoked or cancelled"},
		{"suspended", ErrSuspended, "该证照已被暂停使用，不能出示。请联系颁发机构" + agency + "。", "suspended"},
		{"superseded", ErrSuperseded, "该证照已换发新证，旧证不能出示。", "replaced by a new one"},
		{"revoked-at-claim", ErrRevoked, "该证照已被吊销或注销", "revoked"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			_, err := w.Present(tc.id, "", now.Unix())
			var se *StatusError
			if !errors.Is(err, ErrNotPresentable) || !errors.Is(err, tc.sentinel) || !errors.As(err, &se) {
				t.Fatalf("Present: %v, want a *StatusError matching ErrNotPresentable and %v", err, tc.sentinel)
			}
			if errors.Is(err, ErrPresentation) || (tc.sentinel != ErrRevoked && errors.Is(err, ErrRevoked)) {
				t.Errorf("%v matches another reason", err)
			}
			if got := se.Message("zh"); !strings.HasPrefix(got, tc.zh) {
				t.Errorf("Message(zh) = %q, want prefix %q", got, tc.zh)
			}
			if got := se.Message("en-GB"); !strings.Contains(got, tc.en) || !strings.Contains(got, agency) {
				t.Errorf("Message(en) = %q", got)
			}
			if !strings.Contains(err.Error(), tc.id) {
				t.Errorf("Error() %q does not name the licence", err)
			}
			if _, err := w.StaticQR(tc.id, ""); !errors.Is(err, tc.sentinel) {
				t.Errorf("StaticQR: %v", err)
			}
			l, _ := w.Get(tc.id)
			if l.Presentable() || l.StatusNote("zh", now.Unix()) != se.Message("zh") {
				t.Errorf("Get: presentable %v, note %q", l.Presentable(), l.StatusNote("zh", now.Unix()))
			}
		})
	}
	// Valid, old and never-refreshed licences are not refused for their
	// status (these test records then fail on their dummy QR core).
	for _, id := range []string{"valid", "old", "never"} {
		if _, err := w.Present(id, "", now.Unix()); errors.Is(err, ErrNotPresentable) {
			t.Errorf("%s refused: %v", id, err)
		}
	}

	// What List reports: status, when it was refreshed, how old.
	l, err := w.List()
	if err != nil || l.Len() != 7 {
		t.Fatalf("List: %v, %d", err, l.Len())
	}
	got := map[string]*Licence{}
	for i := int64(0); i < l.Len(); i++ {
		got[l.At(i).ID] = l.At(i)
	}
	for _, tc := range []struct {
		id, status string
		refreshed  int64
		stale      bool
		note       string
	}{
		{"valid", StatusValid, fresh, false, ""},
		{"old", StatusValid, now.Add(-25 * time.Hour).Unix(), true, "证照状态已有 1 天 1 小时未更新。仍可出示，窗口会自行核验。"},
		{"never", StatusUnknown, 0, true, "尚未核实该证照的最新状态。仍可出示，窗口会自行核验。"},
		{"revoked", StatusRevoked, fresh, false, "该证照已被吊销或注销，不能出示。请联系颁发机构" + agency + "。"},
	} {
		x := got[tc.id]
		if x.Status != tc.status || x.RefreshedAt != tc.refreshed || x.StatusStale(now.Unix()) != tc.stale || x.StatusNote("", now.Unix()) != tc.note {
			t.Errorf("%s: status %q refreshed %d stale %v note %q; want %q %d %v %q", tc.id,
				x.Status, x.RefreshedAt, x.StatusStale(now.Unix()), x.StatusNote("", now.Unix()), tc.status, tc.refreshed, tc.stale, tc.note)
		}
		if x.StatusMaxAge != int64(24*time.Hour/time.Second) {
			t.Errorf("%s: StatusMaxAge %d, want the class's 24 h", tc.id, x.StatusMaxAge)
		}
	}
	if age := got["valid"].StatusAge(now.Unix()); age != 3600 {
		t.Errorf("StatusAge %d, want 3600", age)
	}
	if age := got["never"].StatusAge(now.Unix()); age != -1 {
		t.Errorf("StatusAge of a never-refreshed licence %d, want -1", age)
	}
	if n := got["old"].StatusNote("en", now.Unix()); n != "The status was last checked 1 day 1 hour ago. The licence can still be shown; the counter checks it itself." {
		t.Errorf("English note %q", n)
	}
}

func TestStatusMaxAgeByClass(t *testing.T) {
	for _, tc := range []struct {
		class string
		want  time.Duration
	}{
		{"drivers-license", 24 * time.Hour},
		{"no-such-class", DefaultStatusMaxAge},
	} {
		if got := statusMaxAge(tc.class); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.class, got, tc.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d      time.Duration
		zh, en string
	}{
		{0, "1 分钟", "1 minute"},
		{90 * time.Second, "1 分钟", "1 minute"},
		{59 * time.Minute, "59 分钟", "59 minutes"},
		{2*time.Hour + 5*time.Minute, "2 小时", "2 hours"},
		{48 * time.Hour, "2 天", "2 days"},
		{26 * time.Hour, "1 天 2 小时", "1 day 2 hours"},
	} {
		if zh, en := humanDuration(tc.d, "zh"), humanDuration(tc.d, "en"); zh != tc.zh || en != tc.en {
			t.Errorf("%v: %q %q, want %q %q", tc.d, zh, en, tc.zh, tc.en)
		}
	}
}

// TestRecordStatusFields: a record written before refresh times were kept
// still decodes, and the new fields survive a round trip.
func TestRecordStatusFields(t *testing.T) {
	id := "x#1"
	name := licFileName(id)
	r := testRecord(id)
	r.Status, r.StatusAt, r.StatusVersion, r.RefreshedAt = StatusSuspended, 100, 9, 160
	got, err := decodeLicenceFile(testKey, name, sealRecord(t, r, name))
	if err != nil || got.StatusVersion != 9 || got.RefreshedAt != 160 || got.StatusAt != 100 {
		t.Fatalf("%v %+v", err, got)
	}
	legacy := []byte(`{"v":1,"id":"x#1","class":"drivers-license","holder_name":"","holder_code":"","status":"valid","status_at":100,` +
		`"ledger_index":0,"server":"","claimed_at":0,"credential":"e30.e30.sig","holding":` + string(r.Holding) + `,"verified":false}`)
	data, _ := sealFile(testKey, name, legacy)
	got, err = decodeLicenceFile(testKey, name, data)
	if err != nil {
		t.Fatal(err)
	}
	if l := got.licence(); l.Status != StatusValid || l.RefreshedAt != 100 {
		t.Errorf("legacy record: status %q refreshed %d, want valid, refreshed at its list's time", l.Status, l.RefreshedAt)
	}
}

func TestBundleRoot(t *testing.T) {
	hdr := func(members string) string {
		return unsignedJWS(`{"alg":"SM2SM3","typ":"elicense-trust+jwt",`+members+`}`, "{}")
	}
	for _, tc := range []struct {
		name, doc string
		want      string // the root's DER, as text; "" for an error
	}{
		{"chain", hdr(`"x5c":["bGVhZg==","cm9vdA=="]`), "root"},
		{"root only", hdr(`"x5c":["cm9vdA=="]`), "root"},
		{"unknown member ignored", hdr(`"x5c":["cm9vdA=="],"x-note":1`), "root"},
		{"crit", hdr(`"x5c":["cm9vdA=="],"crit":["exp"],"exp":1`), ""},
		{"crit empty", hdr(`"x5c":["cm9vdA=="],"crit":[]`), ""},
		{"duplicate x5c", hdr(`"x5c":["bGVhZg=="],"x5c":["cm9vdA=="]`), ""},
		{"no alg", unsignedJWS(`{"typ":"elicense-trust+jwt","x5c":["cm9vdA=="]}`, "{}"), ""},
		{"other typ", unsignedJWS(`{"alg":"SM2SM3","typ":"JWT","x5c":["cm9vdA=="]}`, "{}"), ""},
		{"no x5c", hdr(`"kid":"x"`), ""},
		{"empty x5c", hdr(`"x5c":[]`), ""},
		{"x5c not base64", hdr(`"x5c":["!!"]`), ""},
		{"x5c unpadded", hdr(`"x5c":["cm9vdA"]`), ""},
		{"header not JSON", unsignedJWS(`x5c`, "{}"), ""},
		{"header padded", base64.URLEncoding.EncodeToString([]byte(`{"alg":"SM2SM3","typ":"elicense-trust+jwt","x5c":["cm9vdA=="]}`)) + ".e30." + strings.Repeat("A", 86), ""},
		{"header not base64url", "%%%.e30.sig", ""},
		{"signature too short", hdr(`"x5c":["cm9vdA=="]`)[:len(hdr(`"x5c":["cm9vdA=="]`))-4], ""},
		{"not a JWS", "nodots", ""},
	} {
		der, err := bundleRoot(tc.doc)
		if (err == nil) != (tc.want != "") || string(der) != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.name, der, err, tc.want)
		}
	}
}

// TestParseCredentialPayload: the wallet reads a credential's claims,
// unverified, with the same strict reader as every format.
func TestParseCredentialPayload(t *testing.T) {
	const payload = `{"iss":"11310000PDY100010H","lic":{"issuer_name":"x"}}`
	for _, tc := range []struct {
		name, token string
		ok          bool
	}{
		{"credential", unsignedJWS(credentialHeader, payload), true},
		{"unknown header member ignored", unsignedJWS(`{"alg":"SM2SM3","kid":"k","typ":"elicense+jwt","x-note":[1]}`, payload), true},
		{"crit", unsignedJWS(`{"alg":"SM2SM3","crit":["exp"],"exp":1,"kid":"k","typ":"elicense+jwt"}`, payload), false},
		{"no kid", unsignedJWS(`{"alg":"SM2SM3","typ":"elicense+jwt"}`, payload), false},
		{"other typ", unsignedJWS(`{"alg":"SM2SM3","kid":"k","typ":"JWT"}`, payload), false},
		{"payload padded", strings.Split(unsignedJWS(credentialHeader, payload), ".")[0] + "." + base64.URLEncoding.EncodeToString([]byte(payload+" ")) + "." + strings.Repeat("A", 86), false},
		{"payload not JSON", unsignedJWS(credentialHeader, "iss"), false},
		{"two parts", "e30.e30", false},
	} {
		p, err := parseCredentialPayload(tc.token)
		if (err == nil) != tc.ok || (tc.ok && p.Iss != "11310000PDY100010H") {
			t.Errorf("%s: %+v %v, want ok %v", tc.name, p, err, tc.ok)
		}
	}
}

// FuzzBundleRoot: whatever an issuer sends as a trust bundle, reading its
// root is an error or a certificate's bytes, never a panic.
func FuzzBundleRoot(f *testing.F) {
	f.Add(unsignedJWS(`{"alg":"SM2SM3","typ":"elicense-trust+jwt","x5c":["cm9vdA=="]}`, "{}"))
	f.Add(unsignedJWS(`{"alg":"SM2SM3","typ":"elicense-trust+jwt","x5c":["cm9vdA=="],"crit":["b64"]}`, "{}"))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, doc string) {
		der, err := bundleRoot(doc)
		if err == nil && der == nil {
			t.Fatal("no error and no root")
		}
	})
}

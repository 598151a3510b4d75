package main

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestInspect decodes a QR vector and a credential vector without a store
// and without judging them, as text and as one JSON object.
func TestInspect(t *testing.T) {
	var qrv struct {
		Cases []struct{ Token string }
	}
	readJSON(t, "../../certs/qr/testdata/vectors.json", &qrv)
	token := qrv.Cases[0].Token
	var credv struct {
		Cases []struct {
			Token string `json:"token"`
		}
	}
	readJSON(t, "../../certs/credential/testdata/vectors.json", &credv)
	jws := ""
	for _, c := range credv.Cases {
		if strings.Count(c.Token, ".") == 2 {
			jws = c.Token
			break
		}
	}
	if jws == "" {
		t.Fatal("no credential among the vectors")
	}
	var out, errb bytes.Buffer
	e := env{stdout: &out, stderr: &errb, now: time.Now}
	store := t.TempDir() // empty: inspect needs no trust data
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  []string
	}{
		{"qr text", []string{"inspect", token}, "", 0, []string{"EL2 static QR (paper) (not verified)", "营业执照", "holder: 上海浦江示例科技有限公司", "signed: 2025-05-31", "status: list amr-1", "住所: ", "(disclosed)"}},
		{"qr json", []string{"inspect", "--json", token}, "", 0, []string{`"kind":"qr"`, `"class":"business-license"`, `"disclosed":true`}},
		{"credential from stdin", []string{"inspect", "-"}, jws + "\n", 0, []string{"credential (not verified)", "typ elicense+jwt", `"jti": "1.2.156.3005.2.`}},
		{"credential json", []string{"inspect", "-", "--json"}, jws, 0, []string{`"kind":"credential"`, `"header":{"alg":"SM2SM3","typ":"elicense+jwt"`, `"claims":{"iss":`}},
		{"garbage", []string{"inspect", "EL2:GARBAGE"}, "", 2, nil},
		{"not a token", []string{"inspect", "hello"}, "", 2, nil},
		{"two texts", []string{"inspect", token, token}, "", 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			errb.Reset()
			e.stdin = strings.NewReader(tc.stdin)
			args := append(append([]string(nil), tc.args...), "--store", store)
			if code := run(args, e); code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, tc.code, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if slices.Contains(tc.args, "--json") && tc.code == 0 {
				dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
				var v map[string]any
				if err := dec.Decode(&v); err != nil || dec.More() {
					t.Fatalf("--json printed more or other than one object: %v\n%s", err, out.String())
				}
			}
			if tc.code != 0 && errb.Len() == 0 {
				t.Error("a refusal said nothing on stderr")
			}
		})
	}
	if entries, _ := os.ReadDir(store); len(entries) != 0 {
		t.Errorf("inspect wrote to the store: %v", entries)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

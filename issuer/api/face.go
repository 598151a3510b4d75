package api

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"net/http"

	"elicense/certs/catalog"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"
)

// faceTemplate is the licence face: what the paper licence shows, with
// the issuing agency's seal and the static QR. It is self-contained (the
// images are data: URIs), so it prints and archives as one file.
var faceTemplate = template.Must(template.New("face").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{.Name}} {{.HolderName}}</title>
<style>
body{font-family:"Noto Sans CJK SC","Source Han Sans SC",sans-serif;background:#f3f1ea;margin:0;padding:24px}
.face{position:relative;max-width:760px;margin:auto;background:#fffdf6;border:6px double #b8860b;padding:32px 40px}
h1{text-align:center;letter-spacing:.5em;color:#8b0000;margin:0 0 24px}
table{border-collapse:collapse;width:100%}td{padding:6px 8px;vertical-align:top;border-bottom:1px solid #eee}
td.k{width:8em;color:#555;white-space:nowrap}.meta{margin-top:18px;font-size:13px;color:#444}
.seal{position:absolute;right:48px;bottom:40px;width:150px;opacity:.85}.qr{width:150px;margin-top:16px}
code{font-size:12px;word-break:break-all}
</style></head><body><div class="face">
<h1>{{.Name}}</h1>
<table>{{range .Fields}}<tr><td class="k">{{.Label}}</td><td>{{.Value}}</td></tr>{{end}}</table>
<div class="meta">颁发机构：{{.Issuer}}　颁证日期：{{.IssuedOn}}<br>证照标识：<code>{{.ID}}</code>
{{if .SealESID}}<br>电子印章：<code>{{.SealESID}}</code>{{end}}</div>
{{if .QR}}<img class="qr" alt="静态二维码" src="{{.QR}}">{{end}}
{{if .Seal}}<img class="seal" alt="{{.Issuer}}印章" src="{{.Seal}}">{{end}}
</div></body></html>`))

type faceField struct{ Label, Value string }

// face renders the licence face as HTML.
func (a *API) face(c echo.Context) error {
	rec, err := a.o.Service.Get(operator(c), idParam(c))
	if err != nil {
		return err
	}
	cl, ok := catalog.Default().Lookup(rec.Class)
	if !ok {
		return fail(http.StatusConflict, "conflict", "", "class %s is no longer in the catalogue", rec.Class)
	}
	data := struct {
		Name, HolderName, Issuer, IssuedOn, ID, SealESID string
		Fields                                           []faceField
		QR, Seal                                         template.URL
	}{Name: cl.NameZH, HolderName: rec.HolderName, IssuedOn: rec.IssuedOn, ID: rec.ID}
	for _, f := range cl.Fields {
		if v := rec.Fields[f.Key]; v != "" {
			data.Fields = append(data.Fields, faceField{f.Label, v})
		}
	}
	if esid, _, pic, ok := a.o.Service.AgencySeal(rec.Agency); ok {
		data.SealESID, data.Seal = esid, template.URL("data:image/png;base64,"+base64.StdEncoding.EncodeToString(pic))
	}
	data.Issuer = a.o.Service.AgencyName(rec.Agency)
	if text, err := staticQR(rec); err == nil {
		if code, err := qrcode.New(text, qrcode.Medium); err == nil {
			data.QR = template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(svg(code.Bitmap())))
		}
	}
	var buf bytes.Buffer
	if err := faceTemplate.Execute(&buf, data); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

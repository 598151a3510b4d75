package api

import (
	"net/http"

	"elicense/certs/catalog"

	"github.com/labstack/echo/v4"
)

// classView is one catalogue class as forms need it.
type classView struct {
	Key        string      `json:"key"`
	TypeCode   string      `json:"type_code"`
	NameZH     string      `json:"name_zh"`
	NameEN     string      `json:"name_en"`
	HolderKind string      `json:"holder_kind"`
	Pilot      bool        `json:"pilot"`
	Fields     []fieldView `json:"fields"`
}

type fieldView struct {
	Key      string   `json:"key"`
	Label    string   `json:"label"`
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	MaxLen   int      `json:"max_len,omitempty"`
	Values   []string `json:"values,omitempty"`
	QR       string   `json:"qr"`
}

// classes lists the licence catalogue (public: it is what a licence is).
func (a *API) classes(c echo.Context) error {
	var out []classView
	for _, cl := range catalog.Default().Classes() {
		v := classView{Key: cl.Key, TypeCode: cl.TypeCode, NameZH: cl.NameZH, NameEN: cl.NameEN, HolderKind: string(cl.HolderKind), Pilot: cl.Pilot}
		for _, f := range cl.Fields {
			v.Fields = append(v.Fields, fieldView{Key: f.Key, Label: f.Label, Type: string(f.Type), Required: f.Required, MaxLen: f.MaxLen, Values: f.Values, QR: string(f.QR)})
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"classes": out})
}

package pki

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"elicense/certs/agencycert"
	"elicense/certs/ident"
)

// AgencyConfig is one agency to certify: its code, name and the licence
// classes it may issue (class keys, type codes or Chinese names, as the
// catalogue knows them).
type AgencyConfig struct {
	Code    string   `json:"code"`    // 颁发机构代码: 18-character 统一社会信用代码
	Name    string   `json:"name"`    // 颁发机构, e.g. 上海市市场监督管理局
	Classes []string `json:"classes"` // e.g. ["business-license", "食品经营许可证"]
}

// DefaultAgencies returns the development agency set: nine Shanghai
// agencies that between them issue all 17 catalogue classes.
//
// The codes are DEVELOPMENT CODES, not those of the real agencies. Each is
// a valid 统一社会信用代码 built as 1 (机构编制) 1 (机关) 310000 (上海市),
// then an organisation code PDY100NN + its GB 11714 check character (the
// "PDY" self-defined range, never assigned to a real organisation; the
// catalogue's placeholder type codes use PDY000NN), then the GB 32100
// check character.
func DefaultAgencies() []AgencyConfig {
	return []AgencyConfig{
		{Code: "11310000PDY100010H", Name: "上海市市场监督管理局",
			Classes: []string{"business-license", "food-operation-permit", "drug-operation-permit"}},
		{Code: "11310000PDY100029E", Name: "上海市公安局",
			Classes: []string{"resident-id-card", "household-register", "drivers-license", "vehicle-license"}},
		{Code: "11310000PDY1000379", Name: "上海市民政局",
			Classes: []string{"marriage-certificate"}},
		{Code: "11310000PDY1000454", Name: "上海市卫生健康委员会",
			Classes: []string{"birth-medical-certificate", "public-place-hygiene-permit"}},
		{Code: "11310000PDY100053Y", Name: "上海市人力资源和社会保障局",
			Classes: []string{"social-security-card", "hr-service-permit"}},
		{Code: "11310000PDY100061R", Name: "上海市住房和城乡建设管理委员会",
			Classes: []string{"construction-work-permit"}},
		{Code: "11310000PDY10007XH", Name: "上海市规划和自然资源局",
			Classes: []string{"construction-planning-permit", "real-estate-certificate"}},
		{Code: "11310000PDY100088H", Name: "上海市交通委员会",
			Classes: []string{"road-transport-permit"}},
		{Code: "11310000PDY100096C", Name: "上海市生态环境局",
			Classes: []string{"pollutant-discharge-permit"}},
	}
}

// ParseAgencyConfigs reads an agencies file: a JSON array of
// {"code", "name", "classes"} objects, as DefaultAgencies returns. Unknown
// keys are an error (a misspelt key would otherwise be silently dropped).
// The agencies are checked as Init checks them.
func ParseAgencyConfigs(data []byte) ([]AgencyConfig, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var out []AgencyConfig
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("%w: agencies file: %v", ErrConfig, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: agencies file: data after the JSON array", ErrConfig)
	}
	if err := checkAgencies(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkAgencies validates a configuration: at least one agency; each with
// a valid code, a name and classes the catalogue knows; no code twice.
func checkAgencies(agencies []AgencyConfig) error {
	if len(agencies) == 0 {
		return fmt.Errorf("%w: no agencies", ErrConfig)
	}
	for i, a := range agencies {
		if err := ident.ValidateUSCC(a.Code); err != nil {
			return fmt.Errorf("%w: agencies[%d] (%s): code: %v", ErrConfig, i, a.Name, err)
		}
		if strings.TrimSpace(a.Name) == "" {
			return fmt.Errorf("%w: agencies[%d] (%s): empty name", ErrConfig, i, a.Code)
		}
		if strings.IndexFunc(a.Name, unicode.IsControl) >= 0 || strings.TrimSpace(a.Name) != a.Name {
			return fmt.Errorf("%w: agencies[%d] (%s): name %q has control characters or surrounding spaces", ErrConfig, i, a.Code, a.Name)
		}
		if j := slices.IndexFunc(agencies[:i], func(b AgencyConfig) bool { return b.Code == a.Code }); j >= 0 {
			return fmt.Errorf("%w: agencies[%d] and agencies[%d] have the same code %s", ErrConfig, j, i, a.Code)
		}
		if _, err := (agencycert.Policy{AgencyCode: a.Code, Classes: a.Classes}).MarshalPolicy(); err != nil {
			return fmt.Errorf("%w: agencies[%d] (%s): %w", ErrConfig, i, a.Name, err)
		}
	}
	return nil
}

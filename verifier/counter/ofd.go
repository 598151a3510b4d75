package counter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"elicense/certs/ofd"
	vofd "elicense/verifier/ofd"
)

// MaxOFD is the largest OFD file /api/ofd takes.
const MaxOFD = 20 << 20

// OFDTimeout is the default of Options.OFDTimeout: a licence takes
// milliseconds, and the counter verifies one document at a time, so a
// document that takes this long is one crafted to hold the counter.
const OFDTimeout = 20 * time.Second

// ofdLimits are tighter than certs/ofd's defaults: a counter takes
// licences and invoices, not archives of scans.
var ofdLimits = ofd.Limits{MaxEntrySize: 32 << 20, MaxTotalSize: 64 << 20}

// OFDResult is the answer to an OFD upload: the document's verdict, one
// per signature, and what the page needs to show them. Nothing of the
// document beyond this is kept.
type OFDResult struct {
	Code      vofd.Verdict `json:"code"`
	Headline  string       `json:"headline"` // short Chinese verdict
	OK        bool         `json:"ok"`
	Colour    string       `json:"colour"` // green, amber or red
	Message   string       `json:"message"`
	MessageEN string       `json:"message_en"`
	Detail    string       `json:"detail,omitempty"`
	// AsOfSigning: trust was judged at each signature's own time.
	AsOfSigning bool `json:"as_of_signing"`
	// RevocationChecked: a synced trust bundle said, of every signature,
	// whether its seal is revoked; otherwise a warning says what was not
	// checked (no bundle synced, a seal it does not list, a Sign
	// signature, which has no revocation source here).
	RevocationChecked bool           `json:"revocation_checked"`
	Signatures        []OFDSignature `json:"signatures"`
	// Unprotected are shown files no signature protects.
	Unprotected []string `json:"unprotected,omitempty"`
	// Warnings in Chinese and in English: the unprotected files, what
	// could not be checked.
	Warnings   []string  `json:"warnings,omitempty"`
	WarningsEN []string  `json:"warnings_en,omitempty"`
	Notes      []string  `json:"notes,omitempty"`
	CheckedAt  time.Time `json:"checked_at"`
	// Licence, for a licence file (GB/T 36905), is what the licence it
	// carries was found to be: its status now, and whether its issuing
	// agency sealed the file.
	Licence *vofd.LicenceCheck `json:"licence,omitempty"`
}

// OFDSignature is one signature's result, as verifier/ofd reports it,
// with its headline, colour and sentences; Warnings (Chinese) and
// WarningsEN replace verifier/ofd's English warnings.
type OFDSignature struct {
	vofd.Signature
	Headline   string   `json:"headline"`
	Colour     string   `json:"colour"`
	Message    string   `json:"message"`
	MessageEN  string   `json:"message_en"`
	Matched    int      `json:"references_matched"` // references whose digest matches
	Warnings   []string `json:"warnings,omitempty"`
	WarningsEN []string `json:"warnings_en,omitempty"`
}

// ofdHeadlines are the short Chinese verdicts, as verifier.Code.Headline
// gives for QR codes.
var ofdHeadlines = map[vofd.Verdict]string{
	vofd.Malformed: "无法识别", vofd.SignatureInvalid: "签名无效", vofd.DocumentModified: "文档已被修改",
	vofd.Revoked: "印章已吊销", vofd.Expired: "证书或印章已过期", vofd.UntrustedMaker: "制章人不可信",
	vofd.UntrustedSigner: "签名人不可信", vofd.PartiallyProtected: "部分内容未受保护", vofd.NotSigned: "文档未签名",
	vofd.LicenceNotGenuine: "非颁发机构所出", vofd.LicenceNotValid: "证照已失效", vofd.LicenceUnchecked: "证照状态未核验",
	vofd.Valid: "有效",
}

// ofdColour: green only for VALID; amber when the document is intact but
// who signed it is not known to this counter (or nobody did), or when the
// signatures hold but leave part of what is shown unprotected; red else.
func ofdColour(v vofd.Verdict) string {
	switch v {
	case vofd.Valid:
		return "green"
	case vofd.UntrustedMaker, vofd.UntrustedSigner, vofd.PartiallyProtected, vofd.NotSigned, vofd.LicenceUnchecked:
		return "amber"
	}
	return "red"
}

// The English warnings of verifier/ofd about unprotected files begin or
// end so; the counter says them in Chinese from the file lists instead.
const (
	docUnprotectedPrefix = "no signature protects "
	sigUnprotectedMark   = "not protected by this signature"
)

func (h *handler) ofd(w http.ResponseWriter, r *http.Request) {
	var asOfSigning bool
	switch v := r.URL.Query().Get("as_of_signing"); v {
	case "", "0", "false":
	case "1", "true":
		asOfSigning = true
	default:
		writeJSON(w, http.StatusBadRequest, Error{Code: "BAD_REQUEST", Message: "as_of_signing must be 1 or 0", Field: "as_of_signing"})
		return
	}
	data, ok := readUpload(w, r, upload{
		field: "ofd", limit: MaxOFD, noFile: "NO_FILE",
		raw: func(ct string) bool {
			switch ct {
			case "application/ofd", "application/octet-stream", "application/zip", "application/x-zip-compressed":
				return true
			}
			return false
		},
		tooLarge:    "OFD 文件超过 20 MB / OFD file larger than 20 MB",
		missing:     "no file part (field \"ofd\")",
		empty:       "empty file",
		unsupported: "send the OFD file as the raw body (application/ofd) or as multipart/form-data (field \"ofd\")",
	})
	if !ok {
		return
	}
	// One document at a time: each holds its upload and inflated parts.
	select {
	case h.ofdSlot <- struct{}{}:
		defer func() { <-h.ofdSlot }()
	case <-r.Context().Done():
		return
	}
	opts, err := h.opts.OFDTrust()
	if err != nil {
		// The counter's own fault, not the request's.
		apiError(w, http.StatusServiceUnavailable, "NO_TRUST", "本机信任数据不可用 / the counter's trust data cannot be read: "+err.Error())
		return
	}
	now := h.opts.Now()
	opts.At, opts.AtSigningTime, opts.Limits = now, asOfSigning, &ofdLimits
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.OFDTimeout)
	defer cancel()
	rep, err := vofd.VerifyContext(ctx, data, opts)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		apiError(w, http.StatusUnprocessableEntity, "TOO_COSTLY", "核验超时，文件过于复杂 / verifying this file took too long: "+err.Error())
		return
	case r.Context().Err() != nil:
		return // the client went away
	case err != nil:
		apiError(w, http.StatusUnprocessableEntity, "NOT_OFD", "不是可读取的 OFD 文件 / not a readable OFD file: "+err.Error())
		return
	}
	res := ofdResult(rep, asOfSigning, opts.Status != nil, now)
	if opts.Licences != nil {
		licenceWords(&res)
	}
	writeJSON(w, http.StatusOK, res)
}

// licenceWords says, of a VALID document, whether it is a licence file
// whose licence was found valid or a document that is no licence file at
// all: a page that looks like a licence face, sealed by anyone whose seal
// chains to the roots, must not read as a valid licence (OFD-10).
func licenceWords(res *OFDResult) {
	if res.Code != vofd.Valid {
		return
	}
	if res.Licence != nil {
		res.Headline = "证照文件有效"
		res.Message = "证照文件未被修改，由颁证机构加盖电子印章，所载证照当前有效。"
		res.MessageEN = "The licence file is unchanged, sealed by its issuing agency, and the licence it carries is valid."
		return
	}
	res.Headline = "签章有效，非证照文件"
	res.Message = "文件的签章有效、内容未被修改，但它不是电子证照文件（未载证照标识），不能据此认定任何证照有效；盖章方见下方签名。"
	res.MessageEN = "The document's signatures are valid and it is unchanged, but it is not a licence file (no 证照标识 in its metadata): it proves no licence valid; see below who sealed it."
}

func ofdResult(rep *vofd.Report, asOfSigning, synced bool, now time.Time) OFDResult {
	revocation := synced && rep.RevocationChecked()
	res := OFDResult{
		Code: rep.Verdict, Headline: ofdHeadlines[rep.Verdict], OK: rep.Verdict.OK(), Colour: ofdColour(rep.Verdict),
		Message: rep.Verdict.MessageZH(), MessageEN: rep.Verdict.Message(), Detail: rep.Detail,
		AsOfSigning: asOfSigning, RevocationChecked: revocation, Signatures: []OFDSignature{},
		Unprotected: rep.Unprotected, Notes: rep.Notes, CheckedAt: now, Licence: rep.Licence,
	}
	if len(rep.Unprotected) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("以下显示文件不受任何签名保护，改动它们不会使签名失败：%s", strings.Join(rep.Unprotected, "、")))
	}
	for _, x := range rep.Warnings {
		if !strings.HasPrefix(x, docUnprotectedPrefix) {
			res.Warnings = append(res.Warnings, x)
		}
	}
	res.WarningsEN = append(res.WarningsEN, rep.Warnings...)
	switch {
	case !synced:
		res.Warnings = append(res.Warnings, "本机尚无已同步的信任数据，未核查印章是否吊销（请同步）")
		res.WarningsEN = append(res.WarningsEN, "Revocation not checked: no synced trust bundle (sync first)")
	case !revocation && (rep.Verdict == vofd.Valid || rep.Verdict == vofd.PartiallyProtected):
		// (Revocation is asked last: a signature that fails earlier was
		// not asked, and its verdict says why.)
		res.Warnings = append(res.Warnings, "部分签名的吊销状态未能核查：信任数据未收录该印章，或为数字签名（Sign）")
		res.WarningsEN = append(res.WarningsEN, "Revocation not checked for every signature: a seal the trust bundle does not list, or a Sign signature")
	}
	for _, s := range rep.Signatures {
		o := OFDSignature{Signature: s, Headline: ofdHeadlines[s.Verdict], Colour: ofdColour(s.Verdict),
			Message: s.Verdict.MessageZH(), MessageEN: s.Verdict.Message(), WarningsEN: s.Warnings}
		for _, ref := range s.References {
			if ref.OK {
				o.Matched++
			}
		}
		if len(s.Unprotected) > 0 {
			o.Warnings = append(o.Warnings, fmt.Sprintf("本签名未保护 %d 个显示文件，改动它们不会使本签名失败：%s", len(s.Unprotected), strings.Join(s.Unprotected, "、")))
		}
		for _, x := range s.Warnings {
			if !strings.Contains(x, sigUnprotectedMark) {
				o.Warnings = append(o.Warnings, x)
			}
		}
		res.Signatures = append(res.Signatures, o)
	}
	return res
}

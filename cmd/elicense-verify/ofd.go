package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"elicense/internal/gm"
	vofd "elicense/verifier/ofd"
	"elicense/verifier/store"
)

var cmdOFD = &command{
	name:    "ofd",
	summary: "verify every signature of a signed OFD document (GB/T 33190)",
	common:  withLang | withJSON,
	usage: `
Usage: elicense-verify ofd [--store DIR] [--as-of-signing] [--trust CERT]... [--tsa-root CERT]... [--json] FILE

Opens the OFD package FILE and verifies each of its signatures: every
protected file's SM3 digest, electronic seals (Type="Seal", GB/T 38540
SES_Signature v4 or GM/T 0031 v1) and plain signatures (Type="Sign",
GM/T 0010 SignedData with SM2). Seal makers and Sign signers must chain
to the pinned roots, or be trusted directly with --trust. Prints one
verdict per signature and the document's, with warnings for shown files
that no signature protects.

--as-of-signing judges each signature at the time it says it was made:
a seal's timeInfo, a Sign signature's signing time, written by the
signer, not by a timestamp authority. Use it for documents whose
certificates have since expired, knowing that a signer holding a key
after it expired or was revoked could write an earlier time.

Revocation is checked for seals the synced trust bundle lists (--json:
each signature's revocation_known, and revocation_checked when all are);
a Sign signature has no revocation source here.

A seal's time-stamp is checked against the pinned TSA roots (trust add
--tsa) and any --tsa-root (this check only): a seal revoked after a
trusted time-stamp stays VALID. Each seal's line says "time-stamp …:
trusted" or "not trusted" (--json: timestamp_at, timestamp_trusted). One
whose authority chains to no TSA root is not trusted, not refused; one
that fails its own checks makes the signature SIGNATURE_INVALID (seal
verdict BAD_TIMESTAMP).

A licence file (its metadata names a 证照标识) is judged by the licence it
carries too: its QR token (证照二维码) must verify now against the synced
trust data, status included, name the same licence, holder and agency,
and a valid seal covering the whole file must be the issuing agency's
own key. Otherwise the document is LICENCE_NOT_VALID (revoked, suspended,
superseded, out of its validity), LICENCE_NOT_GENUINE (sealed by another
party, or file and token disagree) or LICENCE_UNCHECKED (not synced, or
no token in the file); --json's licence object says which and why.

Exit status: 0 VALID, 1 any other verdict (MALFORMED signature,
SIGNATURE_INVALID, DOCUMENT_MODIFIED, REVOKED, EXPIRED, UNTRUSTED_MAKER,
UNTRUSTED_SIGNER, LICENCE_NOT_GENUINE, LICENCE_NOT_VALID,
LICENCE_UNCHECKED, PARTIALLY_PROTECTED: every signature valid but a shown
file protected by none, NOT_SIGNED), 2 the file could not be checked (not an
OFD package, unreadable, trust-store error).

Examples:
  elicense-verify ofd licence.ofd
  elicense-verify ofd --json licence.ofd
  elicense-verify ofd --as-of-signing --trust maker.pem invoice-2020.ofd
  elicense-verify ofd --tsa-root tsa-root.pem contract.ofd
`,
	flags: func(fs *flag.FlagSet, o *options) {
		fs.Bool("as-of-signing", false, "judge certificates and trust as of each signature's own, signer-written time (old documents)")
		fs.Var(&pathList{}, "trust", "trust this seal maker or signer certificate `file` (PEM or DER) directly; repeatable")
		fs.Var(&pathList{}, "tsa-root", "trust this time-stamp authority root `file` (PEM or DER) for this check, besides the pinned ones; repeatable")
	},
	run: func(e env, o *options, args []string) int {
		if len(args) != 1 {
			return usageError(e, "ofd", "name one OFD FILE")
		}
		trust, _ := o.fs.Lookup("trust").Value.(*pathList)
		tsaRoots, _ := o.fs.Lookup("tsa-root").Value.(*pathList)
		return ofdCmd(e, o, args[0], flagValue(o, "as-of-signing") == "true", *trust, *tsaRoots)
	},
}

// pathList is a repeatable flag of file names.
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, ",") }

func (p *pathList) Set(v string) error {
	*p = append(*p, v)
	return nil
}

// readCerts reads certificates from PEM or DER files, named by the flag
// flagName.
func readCerts(flagName string, paths []string) ([]*gm.Certificate, error) {
	var out []*gm.Certificate
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if strings.Contains(string(b), "-----BEGIN") {
			cs, err := gm.ParseCertificatesPEM(b)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", flagName, p, err)
			}
			out = append(out, cs...)
			continue
		}
		c, err := gm.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", flagName, p, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// ofdOutput is what --json prints: the report and what was not checked.
type ofdOutput struct {
	File string `json:"file"`
	*vofd.Report
	// RevocationChecked: a synced bundle knew, of every signature, whether
	// its seal is revoked (each signature's revocation_known says which).
	RevocationChecked bool `json:"revocation_checked"`
}

// maxOFDFile is the largest file ofd reads: a package's uncompressed
// limit (certs/ofd) and room for its zip headers.
const maxOFDFile = 256<<20 + 16<<20

func ofdCmd(e env, o *options, path string, asOfSigning bool, trustFiles, tsaFiles []string) int {
	s, err := store.Open(o.store)
	if err != nil {
		return fail(e, err)
	}
	// The store's pinned roots (--trust may be all there is) and, once
	// synced, its bundle's revoked seals: what the counter page uses.
	opts, err := storeOFDTrust(s, e.now())
	if err != nil {
		return fail(e, err) // held trust data that does not load must not pass as "not checked"
	}
	if opts.Trusted, err = readCerts("--trust", trustFiles); err != nil {
		return fail(e, err)
	}
	extra, err := readCerts("--tsa-root", tsaFiles)
	if err != nil {
		return fail(e, err)
	}
	opts.TSARoots = append(opts.TSARoots, extra...)
	data, err := readCapped(path, maxOFDFile)
	if err != nil {
		return fail(e, err)
	}
	opts.At, opts.AtSigningTime = e.now(), asOfSigning
	rep, verr := vofd.Verify(data, opts)
	synced := opts.Status != nil
	checked := synced && rep.RevocationChecked()
	if o.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(ofdOutput{File: path, Report: rep, RevocationChecked: checked}); err != nil {
			return fail(e, err)
		}
	} else {
		printOFD(e.stdout, rep, o.lang, synced, checked, len(opts.TSARoots) > 0)
	}
	switch {
	case verr != nil:
		return exitUsage
	case rep.Verdict.OK():
		return exitOK
	}
	return exitVerdict
}

// readCapped reads the file name, refusing one larger than limit bytes
// before reading it.
func readCapped(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, larger than the %d an OFD package may be", name, st.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("%s: larger than the %d bytes an OFD package may be", name, limit)
	}
	return b, err
}

func printOFD(w io.Writer, r *vofd.Report, lang string, synced, checked, tsaRoots bool) {
	msg := func(v vofd.Verdict) string {
		if lang == "en" {
			return v.Message()
		}
		return v.MessageZH()
	}
	fmt.Fprintf(w, "%s %s\n", r.Verdict, msg(r.Verdict))
	if r.Detail != "" {
		fmt.Fprintf(w, "  %s\n", r.Detail)
	}
	if r.Verdict == vofd.Valid && r.Licence == nil {
		var by []string
		for _, s := range r.Signatures {
			if s.SealName != "" {
				by = append(by, s.SealName)
			} else if s.Signer != "" {
				by = append(by, s.Signer)
			}
		}
		fmt.Fprintf(w, "  not a licence file (its metadata names no 证照标识): VALID says its signatures hold, not that any licence is valid; sealed by %s\n", strings.Join(by, ", "))
	}
	if l := r.Licence; l != nil {
		status := ""
		if l.QR != nil {
			status = ", status " + string(l.QR.Code)
		}
		fmt.Fprintf(w, "  licence %s (%s)%s: %s\n", l.ID, l.Holder, status, l.Verdict)
	}
	for _, s := range r.Signatures {
		fmt.Fprintf(w, "  signature %s (%s, %s): %s\n", s.ID, s.Type, s.Path, s.Verdict)
		fmt.Fprintf(w, "    %s\n", strings.Join(signatureFacts(&s, tsaRoots), "; "))
		if s.Detail != "" {
			fmt.Fprintf(w, "    %s\n", s.Detail)
		}
		for _, x := range s.Warnings {
			fmt.Fprintf(w, "    warning: %s\n", x)
		}
		for _, x := range s.Notes {
			fmt.Fprintf(w, "    note: %s\n", x)
		}
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", x)
	}
	for _, x := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", x)
	}
	switch {
	case !synced:
		fmt.Fprintln(w, "  revocation not checked: no synced trust bundle (run sync)")
	case !checked && (r.Verdict == vofd.Valid || r.Verdict == vofd.PartiallyProtected):
		fmt.Fprintln(w, "  revocation not checked for every signature: a seal the trust bundle does not list, or a Sign signature (no revocation source)")
	}
}

// signatureFacts are what printOFD says of a signature on its second
// line: format, seal, signer, maker, times, time-stamp and references.
func signatureFacts(s *vofd.Signature, tsaRoots bool) []string {
	var about []string
	if s.Format != "" {
		about = append(about, s.Format)
	}
	if s.SealName != "" {
		about = append(about, fmt.Sprintf("seal %s (%s)", s.ESID, s.SealName))
	}
	if s.Signer != "" {
		about = append(about, "signer "+s.Signer)
	}
	if s.Maker != "" {
		about = append(about, "maker "+s.Maker)
	}
	if !s.SignedAt.IsZero() {
		about = append(about, "signed "+s.SignedAt.UTC().Format(time.RFC3339))
	}
	if !s.TimestampAt.IsZero() {
		about = append(about, "time-stamp "+s.TimestampAt.UTC().Format(time.RFC3339)+": "+timestampWords(s.TimestampTrusted, tsaRoots))
	}
	ok := 0
	for _, ref := range s.References {
		if ref.OK {
			ok++
		}
	}
	about = append(about, fmt.Sprintf("%d/%d references match", ok, len(s.References)))
	return about
}

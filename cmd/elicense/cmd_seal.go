package main

import (
	"context"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"time"

	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/internal/ledger"
	"elicense/internal/ledger/tlog"
	"elicense/issuer/pki"
	"elicense/issuer/seal"
)

func init() {
	register(&command{
		name:    "seal",
		summary: "make electronic seals (GB/T 38540) and seal documents",
		usage: `
Usage: elicense seal keygen --name NAME --key-out KEY.pem --cert-out CERT.pem
       elicense seal make --agency CODE --holder-name NAME --holder-code CODE
                          --signer-cert CERT.pem [--type N] [--years N] [--picture PNG]
                          --out SEAL.esl [--data DIR]
       elicense seal sign --seal SEAL.esl --key KEY.pem --cert CERT.pem [--out SIG.ses] DOCUMENT
       elicense seal revoke --agency CODE --esid ESID --reason REASON [--data DIR]

keygen makes a holder's SM2 signing key (encrypted) and a certificate for it
(self-issued; a deployment uses its CA's). make has an agency (the seal
maker, certified by the root) issue a seal to a holder organisation: name,
type (1 公章, 2 财务专用章, 3 发票专用章, 4 合同专用章, 5 法定代表人名章),
validity, the certificate allowed to use it, and a picture (a round red
seal is drawn when none is given). Making a seal is a ledger event
(seal-make), so run it with the server stopped. sign writes a detached
SES_Signature over SM3 of the document (default DOCUMENT.ses); anyone
verifies it with elicense-verify seal. revoke records a seal's revocation in
the ledger (seal-revoke); the next trust bundle lists it, and counters that
have synced refuse signatures made with it after that time.

The holder key's passphrase comes from ELICENSE_SEAL_PASSPHRASE or
--passphrase-file; the agency keys' from the usual places.

Examples:
  ELICENSE_SEAL_PASSPHRASE=… elicense seal keygen --name 上海浦江示例科技有限公司 --key-out holder.key.pem --cert-out holder.crt.pem
  elicense seal make --agency 11310000PDY100010H --holder-name 上海浦江示例科技有限公司 \
      --holder-code 91310115MA1FPA014G --type 4 --signer-cert holder.crt.pem --out contract.esl
  ELICENSE_SEAL_PASSPHRASE=… elicense seal sign --seal contract.esl --key holder.key.pem --cert holder.crt.pem contract.pdf
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("name", "", "holder name for keygen")
			fs.String("key-out", "", "keygen: key file to write")
			fs.String("cert-out", "", "keygen: certificate file to write")
			fs.String("agency", "", "make: the maker agency's `code`")
			fs.String("holder-name", "", "make: 持章单位名称")
			fs.String("holder-code", "", "make: 统一社会信用代码 (or 公民身份号码)")
			fs.String("signer-cert", "", "make: PEM certificate allowed to use the seal")
			fs.Int("type", int(ses.TypeOfficial), "make: seal type number")
			fs.Int("years", 3, "make: validity in years")
			fs.String("picture", "", "make: PNG picture (default: drawn)")
			fs.String("seal", "", "sign: the seal file")
			fs.String("key", "", "sign: the holder's key file")
			fs.String("cert", "", "sign: the holder's certificate file")
			fs.String("out", "", "output `file`")
			fs.String("esid", "", "revoke: the seal's 电子印章标识符")
			fs.String("reason", "", "revoke: why (遗失, 停用, 单位注销 …)")
			fs.String("data", defaultData, "the server's data `directory` (make)")
			fs.String("passphrase-file", "", "read the agency key passphrase from `file` (make)")
		},
		run: runSeal,
	})
}

func runSeal(e *env, fs *flag.FlagSet) int {
	if fs.NArg() < 1 {
		return usageError(e, "seal", "want: seal keygen | make | sign")
	}
	sub := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return usageError(e, "seal", "%v", err)
	}
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	geti := func(n string) int { v, _ := strconv.Atoi(get(n)); return v }
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "elicense seal %s: %v\n", sub, err)
		return exitFail
	}
	holderPass := func() ([]byte, error) {
		if v, ok := e.lookupEnv("ELICENSE_SEAL_PASSPHRASE"); ok && v != "" {
			return []byte(v), nil
		}
		return nil, fmt.Errorf("%w: set ELICENSE_SEAL_PASSPHRASE for the holder key", gm.ErrPassphrase)
	}
	switch sub {
	case "keygen":
		if get("name") == "" || get("key-out") == "" || get("cert-out") == "" {
			return usageError(e, "seal", "keygen needs --name, --key-out and --cert-out")
		}
		pw, err := holderPass()
		if err != nil {
			return fail(err)
		}
		k, err := gm.GenerateKey()
		if err != nil {
			return fail(err)
		}
		now := time.Now()
		tmpl := &gm.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: get("name")},
			NotBefore: now.Add(-5 * time.Minute), NotAfter: now.AddDate(3, 0, 0), KeyUsage: gm.KeyUsageDigitalSignature | gm.KeyUsageContentCommitment}
		der, err := gm.CreateCertificate(tmpl, tmpl, k.PublicKey(), k)
		if err != nil {
			return fail(err)
		}
		enc, err := gm.MarshalEncryptedPrivateKey(k, pw, nil)
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(get("key-out"), enc, 0o600); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(get("cert-out"), gm.EncodeCertificatePEM(der), 0o644); err != nil {
			return fail(err)
		}
		fmt.Fprintf(e.stdout, "wrote %s and %s (key ID %s)\n", get("key-out"), get("cert-out"), gm.KeyIDString(der))
		return exitOK

	case "make":
		if get("agency") == "" || get("holder-name") == "" || get("holder-code") == "" || get("signer-cert") == "" || get("out") == "" {
			return usageError(e, "seal", "make needs --agency, --holder-name, --holder-code, --signer-cert and --out")
		}
		certPEM, err := os.ReadFile(get("signer-cert"))
		if err != nil {
			return fail(err)
		}
		certs, err := gm.ParseCertificatesPEM(certPEM)
		if err != nil {
			return fail(err)
		}
		var picture []byte
		if p := get("picture"); p != "" {
			if picture, err = os.ReadFile(p); err != nil {
				return fail(err)
			}
		}
		d := dataDir(get("data"))
		pw, err := passphrase(e, d, get("passphrase-file"))
		if err != nil {
			return fail(err)
		}
		p, err := pki.Load(d.pki(), pw)
		if err != nil {
			return fail(err)
		}
		ag, ok := p.Agency(get("agency"))
		if !ok {
			return fail(fmt.Errorf("unknown agency %s", get("agency")))
		}
		// Open the ledger before making anything: a running server holds it.
		lg, err := ledger.Open(ledger.Options{Path: d.ledger(), Origin: ledgerOrigin(p.Manifest.Root.KeyID), Signer: p.Ledger.Signer})
		if err != nil {
			return fail(fmt.Errorf("%w (stop the server first)", err))
		}
		defer lg.Close()
		now := time.Now()
		made, err := seal.Make(seal.MakerFromAgency(ag), seal.Options{
			HolderName: get("holder-name"), HolderCode: get("holder-code"), Type: int64(geti("type")),
			ValidUntil: now.AddDate(geti("years"), 0, 0), SignerCerts: [][]byte{certs[0].Raw}, Picture: picture, Now: now,
		})
		if err != nil {
			return fail(err)
		}
		sum := gm.SM3(made.DER)
		idx, err := lg.Append(context.Background(), tlog.Entry{Type: tlog.TypeSealMake, Time: now, Agency: ag.Code, LicenseID: made.ESID,
			CredentialHash: sum, Operator: "elicense seal make", Extra: []byte(get("holder-code"))})
		if err != nil {
			return fail(fmt.Errorf("the ledger event failed, the seal was not written: %w", err))
		}
		if err := os.WriteFile(get("out"), made.DER, 0o644); err != nil {
			return fail(err)
		}
		fmt.Fprintf(e.stdout, "seal %s (%s) made by %s, ledger index %d, written to %s\n", made.ESID, made.Seal.Info.Property.Name, ag.Name, idx, get("out"))
		return exitOK

	case "sign":
		if fs.NArg() != 1 || get("seal") == "" || get("key") == "" || get("cert") == "" {
			return usageError(e, "seal", "sign needs --seal, --key, --cert and the document")
		}
		doc, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fail(err)
		}
		sealDER, err := os.ReadFile(get("seal"))
		if err != nil {
			return fail(err)
		}
		s, err := ses.ParseSeal(sealDER)
		if err != nil {
			return fail(err)
		}
		pw, err := holderPass()
		if err != nil {
			return fail(err)
		}
		keyPEM, err := os.ReadFile(get("key"))
		if err != nil {
			return fail(err)
		}
		k, err := gm.ParsePrivateKeyPEM(keyPEM, pw)
		if err != nil {
			return fail(err)
		}
		certPEM, err := os.ReadFile(get("cert"))
		if err != nil {
			return fail(err)
		}
		certs, err := gm.ParseCertificatesPEM(certPEM)
		if err != nil {
			return fail(err)
		}
		sig, err := ses.SignDocument(s, certs[0].Raw, k, doc, time.Now(), "elicense")
		if err != nil {
			return fail(err)
		}
		out := get("out")
		if out == "" {
			out = fs.Arg(0) + ".ses"
		}
		if err := os.WriteFile(out, sig.Raw, 0o644); err != nil {
			return fail(err)
		}
		fmt.Fprintf(e.stdout, "signed %s with seal %s, written to %s\n", fs.Arg(0), s.Info.ESID, out)
		return exitOK
	case "revoke":
		if get("agency") == "" || get("esid") == "" || get("reason") == "" {
			return usageError(e, "seal", "revoke needs --agency, --esid and --reason")
		}
		d := dataDir(get("data"))
		pw, err := passphrase(e, d, get("passphrase-file"))
		if err != nil {
			return fail(err)
		}
		p, err := pki.Load(d.pki(), pw)
		if err != nil {
			return fail(err)
		}
		if _, ok := p.Agency(get("agency")); !ok {
			return fail(fmt.Errorf("unknown agency %s", get("agency")))
		}
		lg, err := ledger.Open(ledger.Options{Path: d.ledger(), Origin: ledgerOrigin(p.Manifest.Root.KeyID), Signer: p.Ledger.Signer})
		if err != nil {
			return fail(fmt.Errorf("%w (stop the server first)", err))
		}
		defer lg.Close()
		idx, err := lg.Append(context.Background(), tlog.Entry{Type: tlog.TypeSealRevoke, Time: time.Now(), Agency: get("agency"),
			LicenseID: get("esid"), Reason: get("reason"), Operator: "elicense seal revoke"})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(e.stdout, "seal %s revoked (%s), ledger index %d; the next trust bundle lists it\n", get("esid"), get("reason"), idx)
		return exitOK
	default:
		return usageError(e, "seal", "unknown subcommand %q (want keygen, make, sign or revoke)", sub)
	}
}

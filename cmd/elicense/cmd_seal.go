package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"

	"elicense/certs/ses"
	"elicense/internal/gm"
	"elicense/issuer/seal"
	"elicense/issuer/service"
)

func init() {
	register(&command{
		name:    "seal",
		summary: "make electronic seals (GB/T 38540) and seal documents",
		usage: `
Usage: elicense seal keygen --name NAME --key-out KEY.pem --cert-out CERT.pem
       elicense seal make --holder-name NAME --holder-code CODE --signer-cert CERT.pem
                          [--agency CODE] [--type N] [--years N] [--picture PNG]
                          --out SEAL.esl [--server URL] [--token-file FILE]
       elicense seal sign --seal SEAL.esl --key KEY.pem --cert CERT.pem [--out SIG.ses] DOCUMENT
       elicense seal revoke --esid ESID --reason REASON [--server URL] [--token-file FILE]

keygen makes a holder's SM2 signing key (encrypted) and a certificate for it
(self-issued; a deployment uses its CA's). make has an agency (the seal
maker, certified by the root) issue a seal to a holder organisation: name,
type (1 公章, 2 财务专用章, 3 发票专用章, 4 合同专用章, 5 法定代表人名章),
validity, the certificate allowed to use it, and a picture (a round red
seal is drawn when none is given). sign writes a detached SES_Signature
over SM3 of the document (default DOCUMENT.ses); anyone verifies it with
elicense-verify seal. revoke records a seal's revocation; the next trust
bundle lists it, and counters that have synced refuse signatures made with
it after that time.

make and revoke ask the running server (POST /v1/seals and
/v1/seals/ESID/revoke), which checks them as it checks the API's callers
and records each in the ledger (seal-make, seal-revoke); the server keeps
running. They need an admin token, or an operator token of the maker
agency not limited to some classes: --token-file, else ELICENSE_TOKEN.
--agency defaults to the operator's agency.

The holder key's passphrase (keygen, sign) comes from --passphrase-file,
else ELICENSE_SEAL_PASSPHRASE; it is never a flag value.

Examples:
  ELICENSE_SEAL_PASSPHRASE=… elicense seal keygen --name 上海浦江示例科技有限公司 --key-out holder.key.pem --cert-out holder.crt.pem
  elicense seal make --token-file clerk.token --holder-name 上海浦江示例科技有限公司 \
      --holder-code 91310115MA1FPA014G --type 4 --signer-cert holder.crt.pem --out contract.esl
  ELICENSE_SEAL_PASSPHRASE=… elicense seal sign --seal contract.esl --key holder.key.pem --cert holder.crt.pem contract.pdf
  elicense seal revoke --token-file clerk.token --esid 31011500000000012345 --reason 遗失
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("name", "", "holder name for keygen")
			fs.String("key-out", "", "keygen: key file to write")
			fs.String("cert-out", "", "keygen: certificate file to write")
			fs.String("agency", "", "make: the maker agency's `code` (default: the operator's)")
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
			fs.String("server", "http://"+defaultAddr, "make, revoke: server base `URL`")
			fs.String("token-file", "", "make, revoke: read the operator or admin token from `file`")
			fs.String("passphrase-file", "", "keygen, sign: read the holder key's passphrase from `file`")
		},
		run: runSeal,
	})
}

func runSeal(e *env, fs *flag.FlagSet) int {
	if fs.NArg() < 1 {
		return usageError(e, "seal", "want: seal keygen | make | sign | revoke")
	}
	sub := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return usageError(e, "seal", "%v", err)
	}
	c := sealCmd{e: e, fs: fs, sub: sub}
	switch sub {
	case "keygen":
		return c.keygen()
	case "make":
		return c.make()
	case "sign":
		return c.sign()
	case "revoke":
		return c.revoke()
	default:
		return usageError(e, "seal", "unknown subcommand %q (want keygen, make, sign or revoke)", sub)
	}
}

// sealCmd is one run of a seal subcommand.
type sealCmd struct {
	e   *env
	fs  *flag.FlagSet
	sub string
}

func (c sealCmd) get(n string) string { return c.fs.Lookup(n).Value.String() }

func (c sealCmd) fail(err error) int {
	fmt.Fprintf(c.e.stderr, "elicense seal %s: %v\n", c.sub, err)
	return exitFail
}

// holderPass is the passphrase of the holder's key: --passphrase-file,
// else ELICENSE_SEAL_PASSPHRASE.
func (c sealCmd) holderPass() ([]byte, error) {
	if f := c.get("passphrase-file"); f != "" {
		return gm.PassphraseSource{File: f}.Read()
	}
	if v, ok := c.e.lookupEnv("ELICENSE_SEAL_PASSPHRASE"); ok && v != "" {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("%w: use --passphrase-file or set ELICENSE_SEAL_PASSPHRASE for the holder key", gm.ErrPassphrase)
}

func (c sealCmd) keygen() int {
	if c.get("name") == "" || c.get("key-out") == "" || c.get("cert-out") == "" {
		return usageError(c.e, "seal", "keygen needs --name, --key-out and --cert-out")
	}
	pw, err := c.holderPass()
	if err != nil {
		return c.fail(err)
	}
	hk, err := seal.NewHolderKey(c.get("name"), pw, time.Now())
	if err != nil {
		return c.fail(err)
	}
	if err := os.WriteFile(c.get("key-out"), hk.KeyPEM, 0o600); err != nil {
		return c.fail(err)
	}
	if err := os.WriteFile(c.get("cert-out"), hk.CertPEM, 0o644); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.e.stdout, "wrote %s and %s (key ID %s)\n", c.get("key-out"), c.get("cert-out"), hk.KeyID)
	return exitOK
}

// client is the API client for make and revoke.
func (c sealCmd) client() (*apiClient, error) {
	token, err := operatorToken(c.e, c.get("token-file"))
	if err != nil {
		return nil, err
	}
	return newAPIClient(c.get("server"), token), nil
}

func (c sealCmd) make() int {
	if c.get("holder-name") == "" || c.get("holder-code") == "" || c.get("signer-cert") == "" || c.get("out") == "" {
		return usageError(c.e, "seal", "make needs --holder-name, --holder-code, --signer-cert and --out")
	}
	years, err := strconv.Atoi(c.get("years"))
	if err != nil {
		return usageError(c.e, "seal", "--years: %v", err)
	}
	typ, err := strconv.ParseInt(c.get("type"), 10, 64)
	if err != nil {
		return usageError(c.e, "seal", "--type: %v", err)
	}
	api, err := c.client()
	if err != nil {
		return usageError(c.e, "seal", "%v", err)
	}
	cert, err := readCert(c.get("signer-cert"))
	if err != nil {
		return c.fail(err)
	}
	req := service.SealRequest{Agency: c.get("agency"), HolderName: c.get("holder-name"), HolderCode: c.get("holder-code"),
		Type: typ, Years: years, SignerCert: cert.Raw}
	if p := c.get("picture"); p != "" {
		if req.Picture, err = os.ReadFile(p); err != nil {
			return c.fail(err)
		}
	}
	var made service.MadeSeal
	if err := api.call(context.Background(), "POST", "/v1/seals", req, &made); err != nil {
		return c.fail(err)
	}
	if err := os.WriteFile(c.get("out"), made.DER, 0o644); err != nil {
		return c.fail(fmt.Errorf("the seal %s was made (ledger index %d) but not written: %w", made.ESID, made.LedgerIndex, err))
	}
	fmt.Fprintf(c.e.stdout, "seal %s (%s), ledger index %d, written to %s\n", made.ESID, made.Name, made.LedgerIndex, c.get("out"))
	return exitOK
}

func (c sealCmd) sign() int {
	if c.fs.NArg() != 1 || c.get("seal") == "" || c.get("key") == "" || c.get("cert") == "" {
		return usageError(c.e, "seal", "sign needs --seal, --key, --cert and the document")
	}
	doc, err := os.ReadFile(c.fs.Arg(0))
	if err != nil {
		return c.fail(err)
	}
	sealDER, err := os.ReadFile(c.get("seal"))
	if err != nil {
		return c.fail(err)
	}
	s, err := ses.ParseSeal(sealDER)
	if err != nil {
		return c.fail(err)
	}
	pw, err := c.holderPass()
	if err != nil {
		return c.fail(err)
	}
	keyPEM, err := os.ReadFile(c.get("key"))
	if err != nil {
		return c.fail(err)
	}
	k, err := gm.ParsePrivateKeyPEM(keyPEM, pw)
	if err != nil {
		return c.fail(err)
	}
	cert, err := readCert(c.get("cert"))
	if err != nil {
		return c.fail(err)
	}
	sig, err := ses.SignDocument(s, cert.Raw, k, doc, time.Now(), "elicense")
	if err != nil {
		return c.fail(err)
	}
	out := c.get("out")
	if out == "" {
		out = c.fs.Arg(0) + ".ses"
	}
	if err := os.WriteFile(out, sig.Raw, 0o644); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.e.stdout, "signed %s with seal %s, written to %s\n", c.fs.Arg(0), s.Info.ESID, out)
	return exitOK
}

func (c sealCmd) revoke() int {
	if c.get("esid") == "" || c.get("reason") == "" {
		return usageError(c.e, "seal", "revoke needs --esid and --reason")
	}
	api, err := c.client()
	if err != nil {
		return usageError(c.e, "seal", "%v", err)
	}
	body := map[string]string{"reason": c.get("reason")}
	if err := api.call(context.Background(), "POST", "/v1/seals/"+url.PathEscape(c.get("esid"))+"/revoke", body, nil); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.e.stdout, "seal %s revoked (%s); the next trust bundle lists it\n", c.get("esid"), c.get("reason"))
	return exitOK
}

// readCert reads the first certificate of a PEM file.
func readCert(path string) (*gm.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := gm.ParseCertificatesPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no certificate", path)
	}
	return certs[0], nil
}

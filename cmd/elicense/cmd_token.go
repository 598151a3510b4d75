package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"elicense/issuer/api"
	"elicense/issuer/service"
)

func init() {
	register(&command{
		name:    "token",
		summary: "create an operator token (admin, operator, auditor or counter)",
		usage: `
Usage: elicense token create --subject NAME --role ROLE [--agency CODE]
                             [--classes KEY,KEY] [--ttl DURATION] [--data DIR]
                             [--passphrase-file FILE]

Mints a bearer token (JWT, alg SM2SM3) signed with the server's token key in
DIR, for the API and the agency console. Roles: admin (everything, all
agencies), operator (issue and change licences of its agency, limited to
--classes when given), auditor (read its agency's licences), counter (a
counter of its agency, named by --subject: only uploads its receipts,
elicense-verify receipts upload). Tokens expire
after --ttl (1m to 8784h); an admin revokes one early with
DELETE /v1/tokens/{id}.

It works without a server (it mints the first admin token of a
deployment) and applies the checks of POST /v1/tokens, against the PKI in
DIR: an admin names no agency; an operator's, auditor's or counter's agency exists;
an operator's classes are in the catalogue and its agency's.

The key passphrase comes from --passphrase-file, ELICENSE_PASSPHRASE_FILE,
ELICENSE_PASSPHRASE or DIR/passphrase, never from a flag. The token is
printed on stdout, its ID on stderr.

Examples:
  elicense token create --subject clerk-zhang --role operator --agency 11310000PDY100010H --ttl 8h
  elicense token create --subject audit --role auditor --agency 11310000PDY100010H --ttl 720h
  elicense token create --subject ops --role admin --ttl 24h
  elicense token create --subject "浦东新区市民中心 3号窗口" --role counter --agency 11310000PDY100010H --ttl 8784h
`,
		flags: func(fs *flag.FlagSet) {
			fs.String("subject", "", "who the token is for (recorded in the ledger)")
			fs.String("role", "operator", "`role`: admin, operator, auditor or counter")
			fs.String("agency", "", "agency `code` (operators and auditors)")
			fs.String("classes", "", "comma-separated class `keys` an operator is limited to")
			fs.Duration("ttl", 8*time.Hour, "lifetime")
			fs.String("data", defaultData, "the server's data `directory`")
			fs.String("passphrase-file", "", "read the key passphrase from `file`")
		},
		run: runToken,
	})
}

func runToken(e *env, fs *flag.FlagSet) int {
	if fs.NArg() < 1 || fs.Arg(0) != "create" {
		return usageError(e, "token", "want: token create [flags]")
	}
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return usageError(e, "token", "%v", err)
	}
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	if get("subject") == "" {
		return usageError(e, "token", "--subject is required")
	}
	d := dataDir(get("data"))
	p, pw, err := loadPKI(e, d, get("passphrase-file"))
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense token: %v\n", err)
		return exitFail
	}
	k, err := tokenKey(d, pw)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense token: %v\n", err)
		return exitFail
	}
	req := service.TokenRequest{Subject: get("subject"), Role: service.Role(get("role")), Agency: get("agency")}
	if c := get("classes"); c != "" {
		req.Classes = strings.Split(c, ",")
	}
	req.TTL, _ = time.ParseDuration(get("ttl"))
	// The checks POST /v1/tokens applies, against the PKI in DIR.
	tok, err := service.TokenMinter{PKI: p, Signer: api.NewTokens(k, audience(p), nil, nil)}.Mint(req)
	if err != nil {
		fmt.Fprintf(e.stderr, "elicense token: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(e.stdout, tok.Token)
	fmt.Fprintf(e.stderr, "token ID %s for %s (%s), expires %s\n", tok.ID, tok.Subject, tok.Role, tok.Expires.Format(time.RFC3339))
	return exitOK
}

// Command elicense is the issuer server and its admin CLI. This package only
// wires things up: each subcommand is a small file (cmd_<name>.go) that
// parses flags and calls into issuer, certs and internal packages, where the
// work is done. It must not hold business logic of its own, and it never
// takes a passphrase from a flag.
//
// Subcommands so far: init (make a development PKI, issuer/pki) and
// validate (check a 统一社会信用代码, 公民身份号码, 组织机构代码 or licence
// identifier, certs/ident). Add one by writing cmd_<name>.go with an init
// function that calls register; main.go does not change.
//
// Exit status: 0 success, 1 failure, 2 usage error.
package main

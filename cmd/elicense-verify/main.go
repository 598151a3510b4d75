package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"elicense/verifier"
	"elicense/verifier/scan"
	"elicense/verifier/seal"
	"elicense/verifier/store"
)

// Exit codes.
const (
	exitOK      = 0
	exitVerdict = 1
	exitUsage   = 2
)

type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
}

func main() {
	os.Exit(run(os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, now: time.Now}))
}

const usage = `elicense-verify — 电子证照核验 (counter verifier)

usage:
  elicense-verify trust add ROOT.pem        pin a root certificate (out of band)
  elicense-verify sync --from URL           fetch and verify trust bundle, status lists, checkpoint
  elicense-verify check [--json] TEXT | -   verify one QR text (- reads it from stdin)
  elicense-verify scan [--json]             verify each line from a keyboard-wedge scanner
  elicense-verify image [--json] FILE       decode the QR in a PNG/JPEG photo and verify it
  elicense-verify serve [--addr 127.0.0.1:8090]  counter web page
  elicense-verify seal DOCUMENT SIGNATURE   verify a sealed document (GB/T 38540) against the pinned roots
  elicense-verify log export [--out FILE]   write the verified verification log
  elicense-verify log verify                check the log's hash chain

common flags (after the command): --store DIR (default $ELICENSE_VERIFY_STORE or ~/.elicense-verify),
  --counter ID (counter identifier for the log), --lang zh|en
exit status: 0 VALID/VALID_STATIC, 1 any other verdict, 2 usage or trust-store error
`

// common are the flags every command takes.
type common struct {
	store   string
	counter string
	lang    string
	json    bool
}

func defaultStore() string {
	if d := os.Getenv("ELICENSE_VERIFY_STORE"); d != "" {
		return d
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".elicense-verify")
	}
	return ".elicense-verify"
}

func flags(name string, e env, c *common) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&c.store, "store", defaultStore(), "trust store directory")
	host, _ := os.Hostname()
	fs.StringVar(&c.counter, "counter", host, "counter identifier recorded in the verification log")
	fs.StringVar(&c.lang, "lang", "zh", "language of messages: zh or en")
	fs.BoolVar(&c.json, "json", false, "print the verdict as JSON after the first line")
	fs.Usage = func() { fmt.Fprint(e.stderr, usage) }
	return fs
}

func run(args []string, e env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(e.stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, rest := args[0], args[1:]
	var c common
	switch cmd {
	case "trust":
		if len(rest) == 0 || rest[0] != "add" {
			fmt.Fprintln(e.stderr, "usage: elicense-verify trust add ROOT.pem")
			return exitUsage
		}
		fs := flags("trust add", e, &c)
		if err := fs.Parse(rest[1:]); err != nil || fs.NArg() != 1 {
			return usageErr(e, err)
		}
		return trustAdd(e, c, fs.Arg(0))
	case "sync":
		fs := flags("sync", e, &c)
		from := fs.String("from", "", "issuer base URL, e.g. http://127.0.0.1:8080")
		quiet := fs.Bool("quiet", false, "no progress output")
		if err := fs.Parse(rest); err != nil || *from == "" || fs.NArg() != 0 {
			return usageErr(e, err)
		}
		return syncCmd(e, c, *from, *quiet)
	case "check":
		fs := flags("check", e, &c)
		if err := fs.Parse(rest); err != nil || fs.NArg() != 1 {
			return usageErr(e, err)
		}
		text := fs.Arg(0)
		if text == "-" {
			data, err := io.ReadAll(io.LimitReader(e.stdin, scan.MaxLine))
			if err != nil {
				return fail(e, err)
			}
			text = strings.TrimSpace(string(data))
		}
		return checkOne(e, c, text)
	case "scan":
		fs := flags("scan", e, &c)
		if err := fs.Parse(rest); err != nil || fs.NArg() != 0 {
			return usageErr(e, err)
		}
		return scanLines(e, c)
	case "seal":
		fs := flags("seal", e, &c)
		asOf := fs.Bool("as-of-signing", false, "judge certificates and trust as of the signature's own time (old documents)")
		if err := fs.Parse(rest); err != nil || fs.NArg() != 2 {
			return usageErr(e, err)
		}
		return sealCmd(e, c, fs.Arg(0), fs.Arg(1), *asOf)
	case "image":
		fs := flags("image", e, &c)
		if err := fs.Parse(rest); err != nil || fs.NArg() != 1 {
			return usageErr(e, err)
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return fail(e, err)
		}
		defer f.Close()
		text, err := scan.DecodeImage(f)
		if err != nil {
			return fail(e, err)
		}
		return checkOne(e, c, text)
	case "serve":
		fs := flags("serve", e, &c)
		addr := fs.String("addr", "127.0.0.1:8090", "listen address (loopback only)")
		if err := fs.Parse(rest); err != nil || fs.NArg() != 0 {
			return usageErr(e, err)
		}
		return serve(e, c, *addr)
	case "log":
		if len(rest) == 0 {
			return usageErr(e, nil)
		}
		fs := flags("log", e, &c)
		out := fs.String("out", "-", "export destination (- for stdout)")
		if err := fs.Parse(rest[1:]); err != nil || fs.NArg() != 0 {
			return usageErr(e, err)
		}
		return logCmd(e, c, rest[0], *out)
	default:
		fmt.Fprintf(e.stderr, "unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

func usageErr(e env, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprint(e.stderr, usage)
	return exitUsage
}

func fail(e env, err error) int {
	fmt.Fprintln(e.stderr, "elicense-verify:", err)
	return exitUsage
}

func trustAdd(e env, c common, path string) int {
	s, err := store.Open(c.store)
	if err != nil {
		return fail(e, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail(e, err)
	}
	certs, err := s.AddRoot(data)
	if err != nil {
		return fail(e, err)
	}
	for _, cert := range certs {
		fmt.Fprintf(e.stdout, "pinned root %q (valid until %s)\n", cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.DateOnly))
	}
	return exitOK
}

func syncCmd(e env, c common, from string, quiet bool) int {
	s, err := store.Open(c.store)
	if err != nil {
		return fail(e, err)
	}
	opts := store.SyncOptions{Now: e.now, Log: e.stderr, Progress: e.stderr}
	if quiet {
		opts.Log, opts.Progress = nil, nil
	}
	rep, err := s.Sync(context.Background(), from, opts)
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "OK synced trust bundle seq %d (was %d), checkpoint size %d (was %d), %d full lists, %d deltas, %d bytes\n",
		rep.Seq, rep.PreviousSeq, rep.Checkpoint.Size, rep.PreviousCPSize, len(rep.FullLists), len(rep.DeltaLists), rep.Bytes)
	for _, w := range rep.Warnings {
		fmt.Fprintln(e.stdout, "warning:", w)
	}
	return exitOK
}

// session is a loaded store and verifier checking on its shared replay
// memory and log.
type session struct {
	s  *store.Store
	v  *verifier.Verifier
	ch *store.Checker
	c  common
}

func open(c common, now time.Time) (*session, error) {
	s, err := store.Open(c.store)
	if err != nil {
		return nil, err
	}
	cache, err := s.Load(now)
	if err != nil {
		return nil, err
	}
	v := verifier.New(cache.State(), verifier.Options{})
	ch, err := s.NewChecker(v, store.CheckerOptions{Counter: c.counter})
	if err != nil {
		return nil, err
	}
	return &session{s: s, v: v, ch: ch, c: c}, nil
}

func (ss *session) check(text string, now time.Time) (verifier.Verdict, error) {
	return ss.ch.Check(text, now)
}

func checkOne(e env, c common, text string) int {
	now := e.now()
	ss, err := open(c, now)
	if err != nil {
		return fail(e, err)
	}
	defer ss.ch.Close()
	vd, err := ss.check(text, now)
	if err != nil {
		return fail(e, err)
	}
	printVerdict(e.stdout, vd, c)
	if vd.Code.OK() {
		return exitOK
	}
	return exitVerdict
}

func scanLines(e env, c common) int {
	ss, err := open(c, e.now())
	if err != nil {
		return fail(e, err)
	}
	defer ss.ch.Close()
	for line, err := range scan.Lines(e.stdin) {
		if err != nil {
			return fail(e, err)
		}
		vd, err := ss.check(line, e.now())
		if err != nil {
			return fail(e, err)
		}
		printVerdict(e.stdout, vd, c)
	}
	return exitOK
}

func printVerdict(w io.Writer, vd verifier.Verdict, c common) {
	msg := vd.Message
	if c.lang == "en" {
		msg = vd.MessageEN
	}
	fmt.Fprintf(w, "%s %s\n", vd.Code, msg)
	if c.json {
		data, _ := json.Marshal(vd)
		fmt.Fprintf(w, "%s\n", data)
		return
	}
	en := c.lang == "en"
	label := func(zh, eng string) string {
		if en {
			return eng
		}
		return zh
	}
	if l := vd.Licence; l != nil {
		name := l.ClassName
		if en {
			name = l.ClassNameEN
		}
		until := "长期"
		if !l.ValidUntil.IsZero() {
			until = l.ValidUntil.Format(time.DateOnly)
		}
		fmt.Fprintf(w, "  %s: %s\n  %s: %s\n  %s: %s\n  %s: %s 至 %s\n  %s: %s (%s)\n",
			label("证照", "licence"), name, label("持证主体", "holder"), l.HolderName, label("证照标识", "identifier"), l.ID,
			label("有效期", "valid"), l.ValidFrom.Format(time.DateOnly), until, label("颁发机构", "issuer"), vd.Agency, vd.AgencyCode)
		if l.StatusList != "" {
			fmt.Fprintf(w, "  %s: %s\n", label("状态数据时长", "status age"), vd.StatusAge.Round(time.Second))
		}
	}
	for _, wn := range vd.Warnings {
		fmt.Fprintf(w, "  %s: %s\n", label("警告", "warning"), wn)
	}
	if vd.Detail != "" {
		fmt.Fprintf(w, "  %s: %s\n", label("详情", "detail"), vd.Detail)
	}
}

func logCmd(e env, c common, sub, out string) int {
	s, err := store.Open(c.store)
	if err != nil {
		return fail(e, err)
	}
	switch sub {
	case "verify":
		n, last, err := s.VerifyLog(nil)
		if err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stdout, "OK %d records, head %s\n", n, last)
		return exitOK
	case "export":
		var w io.Writer = e.stdout
		var of *os.File
		if out != "-" {
			if of, err = os.Create(out); err != nil {
				return fail(e, err)
			}
			w = of
		}
		n, last, err := s.VerifyLog(w)
		if of != nil {
			if cerr := of.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			if of != nil {
				os.Remove(out)
			}
			return fail(e, err)
		}
		fmt.Fprintf(e.stderr, "exported %d records, head %s\n", n, last)
		return exitOK
	default:
		return usageErr(e, nil)
	}
}

// sealCmd verifies a detached SES_Signature over a document, with the
// pinned roots as the trusted seal makers' roots. It prints the verdict
// code first, then the sentence, and exits 0 only for VALID.
func sealCmd(e env, c common, docPath, sigPath string, asOfSigning bool) int {
	s, err := store.Open(c.store)
	if err != nil {
		return fail(e, err)
	}
	roots, err := s.Roots()
	if err != nil {
		return fail(e, err)
	}
	doc, err := os.ReadFile(docPath)
	if err != nil {
		return fail(e, err)
	}
	sig, err := os.ReadFile(sigPath)
	if err != nil {
		return fail(e, err)
	}
	opts := seal.Options{Roots: roots, At: e.now(), AtSigningTime: asOfSigning}
	// Revocations come with the synced trust bundle; without one the
	// verdict says nothing about them.
	synced := false
	if cache, err := s.Load(e.now()); err == nil && cache.State().Bundle != nil {
		opts.Status, synced = cache.State().Bundle, true
	}
	res, err := seal.Verify(sig, doc, opts)
	msg := res.Verdict.MessageZH()
	if c.lang == "en" {
		msg = res.Verdict.Message()
	}
	fmt.Fprintf(e.stdout, "%s %s\n", string(res.Verdict), msg)
	if res.ESID != "" {
		fmt.Fprintf(e.stdout, "  seal %s (%s), signed %s\n", res.ESID, res.SealName, res.SignedAt.Format(time.RFC3339))
	}
	if !synced {
		fmt.Fprintln(e.stdout, "  revocation not checked: no synced trust bundle (run sync)")
	}
	if err != nil {
		fmt.Fprintf(e.stdout, "  %v\n", err)
		return exitVerdict
	}
	return exitOK
}

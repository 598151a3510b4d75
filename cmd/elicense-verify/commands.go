package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"elicense/certs/catalog"
	"elicense/internal/chinatime"
	"elicense/internal/gm"
	"elicense/verifier"
	"elicense/verifier/scan"
	"elicense/verifier/seal"
	"elicense/verifier/store"
)

var cmdSync = &command{
	name:    "sync",
	summary: "fetch and verify the trust bundle, status lists and ledger checkpoint",
	usage: `
Usage: elicense-verify sync [--from URL] [--quiet]

Fetches the trust bundle, the ledger checkpoint and every status list from
the issuer, verifies them against the pinned roots and the data held (no
rollback, a consistency proof for the ledger), and replaces the store's
cache in one step; on any error the old cache stays. Without --from it
syncs from the URL the last sync used. A running serve or scan on the
same store picks the new data up within seconds.

--from is the issuer, any web server or CDN holding what "elicense publish"
writes, or such a directory (file://DIR): the same paths everywhere. The
ledger's consistency is proved from its tiles where the source has them.

A document the source serves older than the one held (a replica or a CDN
edge behind) is not taken and not an error: the held one stays, and a
"note:" line says so. When a status list stays older than the version the
trust bundle names, the first word is BEHIND instead of OK, the list held
is kept, and the exit status is 1: sync again shortly.

Examples:
  elicense-verify sync --from http://issuer.example:8080
  elicense-verify sync --from https://cdn.example.gov.cn/elicense
  elicense-verify sync --from file:///media/usb/elicense
  elicense-verify sync
`,
	flags: func(fs *flag.FlagSet, o *options) {
		fs.StringVar(&o.from, "from", "", "issuer or static publication `URL` (http, https or file://DIR; default: the one the last sync used)")
		fs.Bool("quiet", false, "no progress output")
	},
	run: func(e env, o *options, args []string) int {
		if len(args) != 0 {
			return usageError(e, "sync", "unexpected argument %q", args[0])
		}
		s, err := store.Open(o.store)
		if err != nil {
			return fail(e, err)
		}
		from := o.from
		if from == "" {
			last, err := s.LastFrom()
			if errors.Is(err, store.ErrNoCache) {
				return usageError(e, "sync", "--from URL is required: the store holds no earlier sync to take it from")
			}
			if err != nil {
				return usageError(e, "sync", "--from URL is required: %v", err)
			}
			from = last
		}
		opts := store.SyncOptions{Now: e.now, Log: e.stderr, OnProgress: progressBars(e.stderr)}
		if flagValue(o, "quiet") == "true" {
			opts.Log, opts.OnProgress = nil, nil
		}
		rep, err := s.Sync(context.Background(), from, opts)
		if err != nil {
			return fail(e, err)
		}
		// A sync that left a list behind the bundle is not called OK.
		word := "OK"
		if !rep.Complete() {
			word = "BEHIND"
		}
		fmt.Fprintf(e.stdout, "%s synced trust bundle seq %d (was %d), checkpoint size %d (was %d), status lists: %d full, %d by delta, %d unchanged, %d behind; %d bytes\n",
			word, rep.Seq, rep.PreviousSeq, rep.Checkpoint.Size, rep.PreviousCPSize, len(rep.FullLists), len(rep.DeltaLists), len(rep.UnchangedLists), len(rep.Behind), rep.Bytes)
		for _, k := range rep.Kept {
			fmt.Fprintln(e.stdout, "note:", k)
		}
		for _, w := range rep.Warnings {
			fmt.Fprintln(e.stdout, "warning:", w)
		}
		if !rep.Complete() {
			return exitVerdict
		}
		return exitOK
	},
}

var cmdCheck = &command{
	name:    "check",
	summary: "verify one QR text",
	common:  withCounter | withLang | withJSON | withAt,
	usage: `
Usage: elicense-verify check [--json] [--lang zh|en] [--at TIME] TEXT | -

Verifies one QR text offline (- reads it from stdin) and records the check
in the store's verification log. The first word of the output is the
verdict code; then the licence, the disclosed fields with their printed
labels, and any warning. With --json stdout carries exactly one JSON
object and nothing else. A presentation accepted once is REPLAYED
everywhere on this store (check, scan, image, serve) inside its window.
--at checks as of a later time (what a scan of a screenshot would get
then); the log records that time.

Examples:
  elicense-verify check 'EL2:…'
  scanner-tool | elicense-verify check -
  elicense-verify check --json 'EL2:…' | jq .code
`,
	run: func(e env, o *options, args []string) int {
		if len(args) != 1 {
			return usageError(e, "check", "name one QR text, or - for stdin")
		}
		text := args[0]
		if text == "-" {
			data, err := io.ReadAll(io.LimitReader(e.stdin, scan.MaxLine))
			if err != nil {
				return fail(e, err)
			}
			text = strings.TrimSpace(string(data))
		}
		return checkOne(e, o, text)
	},
}

var cmdImage = &command{
	name:    "image",
	summary: "decode the QR in a PNG/JPEG photo and verify it",
	common:  withCounter | withLang | withJSON | withAt,
	usage: `
Usage: elicense-verify image [--json] [--at TIME] FILE

Finds the QR code in a PNG or JPEG photo and verifies it as check does
(--at too).

Examples:
  elicense-verify image photo.jpg
  elicense-verify image --json photo.png
  elicense-verify image --at 2026-03-08T10:05:00+08:00 screenshot.png
`,
	run: func(e env, o *options, args []string) int {
		if len(args) != 1 {
			return usageError(e, "image", "name one image file")
		}
		f, err := os.Open(args[0])
		if err != nil {
			return fail(e, err)
		}
		defer f.Close()
		text, err := scan.DecodeImage(f)
		if err != nil {
			return fail(e, err)
		}
		return checkOne(e, o, text)
	},
}

var cmdScan = &command{
	name:    "scan",
	summary: "verify each line from a keyboard-wedge scanner",
	common:  withCounter | withLang | withJSON | withSync,
	usage: `
Usage: elicense-verify scan [--json] [--sync-every D] [--from URL]

Reads QR texts one per line from stdin (a keyboard-wedge scanner types
them) and prints a verdict for each, until end of input. While it runs it
syncs on a schedule and picks up a sync made by any other process on the
store, so a long session never works on stale data; a failed sync keeps
the last good data and is reported on stderr. With --json each verdict is
one JSON object on its own line.

Examples:
  elicense-verify scan
  elicense-verify scan --json --sync-every 10m < codes.txt
`,
	run: func(e env, o *options, args []string) int {
		if len(args) != 0 {
			return usageError(e, "scan", "unexpected argument %q (scan reads stdin)", args[0])
		}
		return scanLines(e, o)
	},
}

var cmdSeal = &command{
	name:    "seal",
	summary: "verify a sealed document (GB/T 38540) against the pinned roots",
	common:  withLang | withJSON,
	usage: `
Usage: elicense-verify seal [--as-of-signing] [--tsa-root CERT]... [--json] DOCUMENT SIGNATURE

Verifies a detached electronic seal signature (SES_Signature) over
DOCUMENT, with the pinned roots as the seal makers' roots and the synced
trust bundle's revocations. Exit 0 only for VALID.

A time-stamp on the signature is checked against the pinned TSA roots
(trust add --tsa) and any --tsa-root: a seal revoked after a trusted
time-stamp stays VALID, and the output says so ("time-stamp …: trusted").
A time-stamp whose authority chains to no TSA root (or with none pinned)
is checked but not trusted: the seal is judged as without it. One that
fails its own checks (imprint, signature, dates) is BAD_TIMESTAMP.
--tsa-root trusts a TSA root for this check only, without pinning it.

With --json stdout carries exactly one JSON object: verdict, message,
esid, seal_name, signed_at, timestamp_at and timestamp_trusted (when the
signature has a verified time-stamp), revoked_since, revocation_checked,
notes and detail.

Examples:
  elicense-verify seal contract.pdf contract.pdf.ses
  elicense-verify seal --as-of-signing old.pdf old.pdf.ses
  elicense-verify seal --tsa-root tsa-root.pem contract.pdf contract.pdf.ses
  elicense-verify seal --json contract.pdf contract.pdf.ses | jq .timestamp_trusted
`,
	flags: func(fs *flag.FlagSet, o *options) {
		fs.Bool("as-of-signing", false, "judge certificates and trust as of the signature's own time (old documents)")
		fs.Var(&pathList{}, "tsa-root", "trust this time-stamp authority root `file` (PEM or DER) for this check, besides the pinned ones; repeatable")
	},
	run: func(e env, o *options, args []string) int {
		if len(args) != 2 {
			return usageError(e, "seal", "name the DOCUMENT and its SIGNATURE")
		}
		tsaRoots, _ := o.fs.Lookup("tsa-root").Value.(*pathList)
		return sealCmd(e, o, args[0], args[1], flagValue(o, "as-of-signing") == "true", *tsaRoots)
	},
}

var cmdLog = &command{
	name:    "log",
	summary: "export or verify the hash-chained verification log",
	usage: `
Usage: elicense-verify log verify
       elicense-verify log export [--out FILE]

Every check on this store (by check, scan, image or serve, in any
process) is one line of the verification log, chained by SM3 hashes; it
holds no holder's name or fields. log verify checks the chain; log export
writes the verified log (to stdout, or FILE). A broken chain exits 2 and
names the first bad line; keep the file as evidence and move it aside to
start a new log.

Examples:
  elicense-verify log verify
  elicense-verify log export --out checks-2026-03.jsonl
`,
	flags: func(fs *flag.FlagSet, o *options) {
		fs.String("out", "-", "export destination `file` (- for stdout)")
	},
	run: func(e env, o *options, args []string) int {
		if len(args) != 1 || (args[0] != "verify" && args[0] != "export") {
			return usageError(e, "log", "use log verify or log export")
		}
		return logCmd(e, o, args[0], flagValue(o, "out"))
	},
}

// flagValue is the value of a command's own flag.
func flagValue(o *options, name string) string {
	if o.fs == nil {
		return ""
	}
	if f := o.fs.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// session is a loaded store and verifier checking on its shared replay
// memory and log.
type session struct {
	s  *store.Store
	v  *verifier.Verifier
	ch *store.Checker
}

func openSession(e env, o *options, v *verifier.Verifier) (*session, error) {
	s, err := store.Open(o.store)
	if err != nil {
		return nil, err
	}
	if v == nil {
		cache, err := s.Load(time.Now())
		if err != nil {
			return nil, err
		}
		v = verifier.New(cache.State(), verifier.Options{})
	}
	ch, err := s.NewChecker(v, store.CheckerOptions{Counter: o.counter, Logf: func(format string, args ...any) {
		fmt.Fprintf(e.stderr, "elicense-verify: "+format+"\n", args...)
	}})
	if err != nil {
		return nil, err
	}
	return &session{s: s, v: v, ch: ch}, nil
}

func checkOne(e env, o *options, text string) int {
	ss, err := openSession(e, o, nil)
	if err != nil {
		return fail(e, err)
	}
	defer ss.ch.Close()
	vd, err := ss.ch.Check(text, e.now())
	if err != nil {
		return fail(e, err)
	}
	printVerdict(e.stdout, vd, o)
	if vd.Code.OK() {
		return exitOK
	}
	return exitVerdict
}

// openKept opens the store for a long-running front end: a verifier kept
// fresh by a Keeper, and a session checking on the shared replay memory
// and log.
func openKept(ctx context.Context, e env, o *options) (*store.Keeper, *session, error) {
	s, err := store.Open(o.store)
	if err != nil {
		return nil, nil, err
	}
	v := verifier.New(verifier.State{}, verifier.Options{})
	k, err := s.NewKeeper(ctx, v, keeperOptions(e, o))
	if err != nil {
		return nil, nil, err
	}
	ss, err := openSession(e, o, v)
	if err != nil {
		return nil, nil, err
	}
	return k, ss, nil
}

func scanLines(e env, o *options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	k, ss, err := openKept(ctx, e, o)
	if err != nil {
		return fail(e, err)
	}
	defer ss.ch.Close()
	var wg sync.WaitGroup
	kctx, cancel := context.WithCancel(ctx)
	wg.Go(func() { k.Run(kctx) })
	defer func() { cancel(); wg.Wait() }()
	for line, err := range scan.Lines(e.stdin) {
		if err != nil {
			return fail(e, err)
		}
		k.Refresh()
		vd, err := ss.ch.Check(line, e.now())
		if err != nil {
			return fail(e, err)
		}
		printVerdict(e.stdout, vd, o)
	}
	return exitOK
}

// keeperOptions are the Keeper's options from the flags; it logs to
// stderr.
func keeperOptions(e env, o *options) store.KeeperOptions {
	return store.KeeperOptions{From: o.from, Every: o.syncEvery, Now: e.now,
		Logf: func(format string, args ...any) { fmt.Fprintf(e.stderr, "elicense-verify: "+format+"\n", args...) }}
}

// printVerdict prints one verdict: with --json one JSON object on a line;
// else the code and sentence, the licence, the disclosed fields in the
// catalogue's printed order, and the warnings.
func printVerdict(w io.Writer, vd verifier.Verdict, o *options) {
	if o.json {
		data, _ := json.Marshal(vd)
		fmt.Fprintf(w, "%s\n", data)
		return
	}
	en := o.lang == "en"
	msg := vd.Message
	if en {
		msg = vd.MessageEN
	}
	fmt.Fprintf(w, "%s %s\n", vd.Code, msg)
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
		until := label("长期", "no end")
		if !l.ValidUntil.IsZero() {
			until = l.ValidUntil.Format(time.DateOnly)
		}
		fmt.Fprintf(w, "  %s: %s\n  %s: %s\n  %s: %s\n  %s: %s %s %s\n  %s: %s (%s)\n",
			label("证照", "licence"), name, label("持证主体", "holder"), l.HolderName, label("证照标识", "identifier"), l.ID,
			label("有效期", "valid"), l.ValidFrom.Format(time.DateOnly), label("至", "to"), until, label("颁发机构", "issuer"), vd.Agency, vd.AgencyCode)
		if l.Status != "" && l.Status != "valid" {
			since := ""
			if !l.StatusSince.IsZero() {
				since = " (" + label("不晚于 ", "no later than ") + chinatime.Date(l.StatusSince) + ")"
			}
			fmt.Fprintf(w, "  %s: %s%s\n", label("状态", "status"), l.Status, since)
		}
		if l.StatusList != "" {
			fmt.Fprintf(w, "  %s: %s\n", label("状态数据时长", "status age"), vd.StatusAge.Round(time.Second))
		}
		if fields := disclosed(vd); len(fields) > 0 {
			fmt.Fprintf(w, "  %s:\n", label("出示信息", "disclosed fields"))
			for _, f := range fields {
				fmt.Fprintf(w, "    %s: %s\n", f[0], f[1])
			}
		}
	}
	for _, wn := range vd.Warnings {
		fmt.Fprintf(w, "  %s: %s\n", label("警告", "warning"), wn)
	}
	if vd.Detail != "" {
		fmt.Fprintf(w, "  %s: %s\n", label("详情", "detail"), vd.Detail)
	}
}

// disclosed returns the verdict's fields as (label, value) in the order
// the catalogue prints them; a field the catalogue does not know comes
// last under its key.
func disclosed(vd verifier.Verdict) [][2]string {
	var out [][2]string
	seen := map[string]bool{}
	if cl, ok := catalog.Default().Lookup(vd.Licence.Class); ok {
		for _, f := range cl.Fields {
			if v, ok := vd.Fields[f.Key]; ok {
				out = append(out, [2]string{f.Label, v})
				seen[f.Key] = true
			}
		}
	}
	var rest []string
	for k := range vd.Fields {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, [2]string{k, vd.Fields[k]})
	}
	return out
}

func logCmd(e env, o *options, sub, out string) int {
	s, err := store.Open(o.store)
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
	default: // export
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
	}
}

// sealCmd verifies a detached SES_Signature over a document, with the
// pinned roots as the trusted seal makers' roots and the pinned TSA roots
// (and tsaFiles) as the trusted time-stamp authorities. It prints the
// verdict code first, then the sentence, and exits 0 only for VALID.
func sealCmd(e env, o *options, docPath, sigPath string, asOfSigning bool, tsaFiles []string) int {
	s, err := store.Open(o.store)
	if err != nil {
		return fail(e, err)
	}
	roots, err := s.Roots()
	if err != nil {
		return fail(e, err)
	}
	tsaRoots, err := tsaRootsOf(s, tsaFiles)
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
	opts := seal.Options{Roots: roots, At: e.now(), AtSigningTime: asOfSigning, TSARoots: tsaRoots}
	// Revocations come with the synced trust bundle; without one the
	// verdict says nothing about them.
	synced := false
	switch cache, err := s.Load(e.now()); {
	case err == nil:
		opts.Status, synced = cache.State().Bundle, true
	case !errors.Is(err, store.ErrNoCache):
		// Trust data that is held but does not load (rolled back, damaged)
		// must not turn into "revocation not checked" and a pass.
		return fail(e, err)
	}
	res, err := seal.Verify(sig, doc, opts)
	if o.json {
		printSealJSON(e.stdout, res, synced)
	} else {
		printSeal(e.stdout, res, o.lang, synced, len(tsaRoots) > 0)
	}
	if err != nil {
		return exitVerdict
	}
	return exitOK
}

// tsaRootsOf is the store's pinned TSA roots and those in files (the
// --tsa-root flag).
func tsaRootsOf(s *store.Store, files []string) ([]*gm.Certificate, error) {
	pinned, err := s.TSARoots()
	if err != nil {
		return nil, err
	}
	extra, err := readCerts("--tsa-root", files)
	if err != nil {
		return nil, err
	}
	return append(pinned, extra...), nil
}

// printSeal prints a seal verdict: the code and sentence, the format, the
// seal, the time-stamp and whether it was trusted, what was not checked,
// the notes and the detail of a failure.
func printSeal(w io.Writer, res *seal.Result, lang string, synced, tsaRoots bool) {
	msg := res.Verdict.MessageZH()
	if lang == "en" {
		msg = res.Verdict.Message()
	}
	fmt.Fprintf(w, "%s %s\n", string(res.Verdict), msg)
	if res.Signature != nil {
		fmt.Fprintf(w, "  %s\n", res.Signature.FormatName())
	}
	if res.ESID != "" {
		fmt.Fprintf(w, "  seal %s (%s), signed %s\n", res.ESID, res.SealName, res.SignedAt.Format(time.RFC3339))
	}
	if !res.TimestampAt.IsZero() {
		fmt.Fprintf(w, "  time-stamp %s: %s\n", res.TimestampAt.UTC().Format(time.RFC3339), timestampWords(res.TimestampTrusted, tsaRoots))
	}
	if !synced {
		fmt.Fprintln(w, "  revocation not checked: no synced trust bundle (run sync)")
	}
	for _, n := range res.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if res.Err != nil {
		fmt.Fprintf(w, "  %v\n", res.Err)
	}
}

// timestampWords says whether a verified time-stamp was trusted, and why
// not.
func timestampWords(trusted, tsaRoots bool) string {
	switch {
	case trusted:
		return "trusted (its authority chains to a TSA root)"
	case tsaRoots:
		return "not trusted (its authority chains to no TSA root given)"
	}
	return "not trusted (no TSA root pinned: elicense-verify trust add --tsa)"
}

// sealJSON is what seal --json prints.
type sealJSON struct {
	Verdict           seal.Verdict `json:"verdict"`
	Message           string       `json:"message"`
	MessageEN         string       `json:"message_en"`
	Format            string       `json:"format,omitempty"`
	ESID              string       `json:"esid,omitempty"`
	SealName          string       `json:"seal_name,omitempty"`
	SignedAt          time.Time    `json:"signed_at,omitzero"`
	TimestampAt       time.Time    `json:"timestamp_at,omitzero"`
	TimestampTrusted  bool         `json:"timestamp_trusted"`
	RevokedSince      time.Time    `json:"revoked_since,omitzero"`
	RevocationChecked bool         `json:"revocation_checked"` // a synced bundle knew the seal
	Notes             []string     `json:"notes,omitempty"`
	Detail            string       `json:"detail,omitempty"`
}

func printSealJSON(w io.Writer, res *seal.Result, synced bool) {
	out := sealJSON{Verdict: res.Verdict, Message: res.Verdict.MessageZH(), MessageEN: res.Verdict.Message(),
		ESID: res.ESID, SealName: res.SealName, SignedAt: res.SignedAt, TimestampAt: res.TimestampAt,
		TimestampTrusted: res.TimestampTrusted, RevokedSince: res.RevokedSince,
		RevocationChecked: synced && res.StatusKnown, Notes: res.Notes}
	if res.Signature != nil {
		out.Format = res.Signature.FormatName()
	}
	if res.Err != nil {
		out.Detail = res.Err.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(out)
}

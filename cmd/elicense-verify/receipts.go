package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"elicense/certs/receipt"
	"elicense/verifier/store"
)

var cmdReceipts = &command{
	name:    "receipts",
	summary: "show or upload the counter receipts waiting for the issuer",
	usage: `
Usage: elicense-verify receipts
       elicense-verify receipts upload --to URL --token-file FILE [--batch N]

Every check whose QR could be read (the verdict names a licence) leaves a
counter receipt in the store's queue, whichever front end made it (check,
scan, image, serve), so that the holder's use history shows the
verification (docs/consent.md §9). A receipt holds its id, the time, the
verdict and the licence sealed to the issuer's receipt key: no name, code
or field value, and nothing anyone but the issuer can read. No receipt is
made while the trust bundle names no receipt key (an older issuer).

receipts prints how many wait. receipts upload sends them to the issuer,
oldest first, in batches of at most 1,000 (--batch), with a counter token
(the issuer's admin makes one: elicense token create --role counter
--subject "窗口名称" --agency CODE); a batch leaves the queue only once the
issuer has answered it, and a batch sent again after a lost answer counts
as duplicates, never twice. It prints the receipts accepted, duplicates
and unknown (licences the issuer does not hold). Offline, or refused, it
exits 2 and keeps the queue; run it again later. serve --upload-receipts
does the same on a schedule.

Examples:
  elicense-verify receipts
  elicense-verify receipts upload --to https://elicense.example.gov.cn --token-file /etc/elicense/counter.token
  elicense-verify serve --upload-receipts https://elicense.example.gov.cn --token-file /etc/elicense/counter.token
`,
	flags: func(fs *flag.FlagSet, o *options) {
		fs.String("to", "", "issuer base `URL` to upload to")
		fs.String("token-file", "", "`file` holding a counter token of the issuer")
		fs.Int("batch", receipt.MaxBatch, "at most `N` receipts per request (1 to 1000)")
	},
	run: func(e env, o *options, args []string) int {
		switch {
		case len(args) == 0:
			s, err := store.Open(o.store)
			if err != nil {
				return fail(e, err)
			}
			n, err := s.PendingReceipts()
			if err != nil {
				return fail(e, err)
			}
			fmt.Fprintf(e.stdout, "%d receipts waiting\n", n)
			return exitOK
		case len(args) == 1 && args[0] == "upload":
		default:
			return usageError(e, "receipts", "use receipts, or receipts upload --to URL --token-file FILE")
		}
		opts, err := uploadOptions(flagValue(o, "to"), flagValue(o, "token-file"))
		if err != nil {
			return usageError(e, "receipts", "%v", err)
		}
		n, err := strconv.Atoi(flagValue(o, "batch"))
		if err != nil || n < 1 || n > receipt.MaxBatch {
			return usageError(e, "receipts", "--batch %s: use 1 to %d", flagValue(o, "batch"), receipt.MaxBatch)
		}
		opts.Batch = n
		s, err := store.Open(o.store)
		if err != nil {
			return fail(e, err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		res, err := s.UploadReceipts(ctx, opts)
		fmt.Fprintln(e.stdout, uploadSummary(res))
		if err != nil {
			return fail(e, err)
		}
		return exitOK
	},
}

// uploadOptions checks --to and reads --token-file.
func uploadOptions(to, tokenFile string) (store.UploadOptions, error) {
	switch {
	case to == "":
		return store.UploadOptions{}, errors.New("--to URL is required")
	case tokenFile == "":
		return store.UploadOptions{}, errors.New("--token-file FILE is required (a counter token: elicense token create --role counter)")
	}
	data, err := os.ReadFile(tokenFile)
	if err != nil {
		return store.UploadOptions{}, fmt.Errorf("--token-file: %v", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return store.UploadOptions{}, fmt.Errorf("--token-file %s: not one token", tokenFile)
	}
	if !strings.HasPrefix(to, "http://") && !strings.HasPrefix(to, "https://") {
		return store.UploadOptions{}, fmt.Errorf("--to %q: use the issuer's http(s) base URL", to)
	}
	return store.UploadOptions{To: to, Token: tok}, nil
}

func uploadSummary(r store.UploadResult) string {
	return fmt.Sprintf("accepted %d, duplicates %d, unknown %d; %d waiting", r.Accepted, r.Duplicates, r.Unknown, r.Left)
}

// uploadEvery is how often serve --upload-receipts uploads, besides after
// each sync; a failed upload is tried again at the next turn.
const uploadEvery = 5 * time.Minute

// uploader runs serve's receipt uploads until ctx ends: every
// uploadEvery (±10 %) and soon after the trust data changes (a sync, by
// any process), logging each upload that did something and each failure.
func uploader(ctx context.Context, e env, s *store.Store, opts store.UploadOptions, synced func() time.Time, poll time.Duration) {
	last := synced()
	next := time.Now()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if at := synced(); !at.Equal(last) || !time.Now().Before(next) {
			last = at
			next = time.Now().Add(time.Duration(float64(uploadEvery) * (0.9 + 0.2*rand.Float64())))
			res, err := s.UploadReceipts(ctx, opts)
			switch {
			case err != nil && ctx.Err() != nil:
				return
			case err != nil:
				fmt.Fprintf(e.stderr, "elicense-verify: receipts: %v (%s; tried again later)\n", err, uploadSummary(res))
			case res.Batches > 0:
				fmt.Fprintf(e.stderr, "elicense-verify: receipts uploaded: %s\n", uploadSummary(res))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

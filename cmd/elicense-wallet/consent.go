package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	mobilesdk "elicense/mobile-sdk"
)

// stdin is where consent reads the holder's confirmation.
var stdin io.Reader = os.Stdin

func cmdConsent(_ context.Context, e *env, fs *flag.FlagSet, pos []string) error {
	link, err := oneArg(pos, "request link")
	if err != nil {
		return err
	}
	refuse := flagBool(fs, "refuse")
	if refuse && flagString(fs, "fields") != "" {
		return fmt.Errorf("%w: --fields and --refuse exclude each other", errUsage)
	}
	w, err := e.open()
	if err != nil {
		return err
	}
	if pinned, err := w.TrustRoot(); err != nil {
		return err
	} else if pinned == nil {
		return fmt.Errorf("%w: no trust root is pinned: claim or refresh with --trust-root FILE first, so that the request can be verified", errUsage)
	}
	req, err := w.OpenRequest(link)
	if err != nil {
		return holderErr(e, err)
	}
	showRequest(e, w, req)
	if req.State != "pending" {
		return fmt.Errorf("the request is %s: there is nothing to answer", req.State)
	}
	licence := flagString(fs, "licence")
	if licence == "" {
		ids := splitComma(req.Licences)
		switch len(ids) {
		case 0:
			return fmt.Errorf("no licence in this wallet can answer the request (it asks for a %s from %s): claim one first", req.ClassName, req.Server)
		case 1:
			licence = ids[0]
		default:
			return fmt.Errorf("%w: %d licences can answer the request (%s): choose one with --licence NUMBER", errUsage, len(ids), strings.Join(named(w, ids), ", "))
		}
	}
	fields := flagString(fs, "fields")
	if !flagBool(fs, "yes") {
		q := fmt.Sprintf("Share %s of licence %s with %s? [y/N] ", orAll(fields, req.Fields), licence, req.RPName)
		if refuse {
			q = fmt.Sprintf("Refuse %s's request? [y/N] ", req.RPName)
		}
		if !confirm(e, q) {
			return errors.New("not answered: the holder did not confirm (give --yes to answer without asking)")
		}
	}
	if refuse {
		if err := w.Refuse(req, licence); err != nil {
			return holderErr(e, err)
		}
		fmt.Fprintln(e.stdout, "refused")
		return nil
	}
	g, err := w.Consent(req, licence, fields)
	if err != nil {
		return holderErr(e, err)
	}
	fmt.Fprintf(e.stdout, "granted %s: %s of %s to %s, %s, until %s\n", g.ID, g.Fields, g.Licence, g.RPName, g.Use,
		time.Unix(g.NotAfter, 0).Format("2006-01-02 15:04:05"))
	return nil
}

func orAll(fields, all string) string {
	if strings.TrimSpace(fields) != "" {
		return fields
	}
	return all
}

func splitComma(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// named is the licences as the holder names them: "number identifier".
func named(w *mobilesdk.Wallet, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		if l, err := w.Get(id); err == nil {
			out[i] = fmt.Sprintf("%d %s", l.Index, cmp.Or(l.CopyOf, l.ID))
		}
	}
	return out
}

// showRequest prints what the holder is asked.
func showRequest(e *env, w *mobilesdk.Wallet, r *mobilesdk.ConsentRequest) {
	out := e.stdout
	fmt.Fprintf(out, "Request:    %s (%s)\n", r.ID, r.State)
	fmt.Fprintf(out, "Service:    %s (%s)\n", r.RPName, r.RPID)
	fmt.Fprintf(out, "Of:         %s (%s)\n", r.OrgName, r.OrgCode)
	fmt.Fprintf(out, "Matter:     %s (%s)\n", r.MatterName, r.MatterCode)
	fmt.Fprintf(out, "Licence:    %s (%s)\n", r.ClassName, r.Class)
	fmt.Fprintf(out, "Duration:   %s\n", r.DurationText(e.lang))
	fmt.Fprintf(out, "Use:        %s\n", r.UseText(e.lang))
	fmt.Fprintf(out, "Answer by:  %s\n", time.Unix(r.ExpiresAt, 0).Format("2006-01-02 15:04:05"))
	fmt.Fprintln(out, "Fields:")
	for i := int64(0); i < r.FieldCount(); i++ {
		f := r.Field(i)
		fmt.Fprintf(out, "  %-20s %s: %s\n", f.Key, f.Name, f.Purpose)
	}
	if r.Licences != "" {
		fmt.Fprintf(out, "Can answer: %s\n", strings.Join(named(w, splitComma(r.Licences)), ", "))
	}
}

// confirm asks q on stderr and reads a yes from stdin.
func confirm(e *env, q string) bool {
	fmt.Fprint(e.stderr, q)
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes", "是", "同意":
		return true
	}
	return false
}

// holderErr prints the holder's message for a licence that cannot be
// used (run prints only the exit status 3 for it; it prints every other
// error, in the holder's words) and returns err.
func holderErr(e *env, err error) error {
	var se *mobilesdk.StatusError
	if errors.As(err, &se) {
		fmt.Fprintln(e.stderr, mobilesdk.ErrorMessage(err, e.lang))
	}
	return err
}

// licenceIDs is the copy identifiers of the named licences (see
// mobilesdk.Wallet.Resolve), or of every licence in the wallet.
func licenceIDs(w *mobilesdk.Wallet, pos []string) ([]string, error) {
	if len(pos) > 0 {
		ids := make([]string, len(pos))
		for i, ref := range pos {
			id, err := w.Resolve(ref)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
			ids[i] = id
		}
		return ids, nil
	}
	l, err := w.List()
	if err != nil {
		return nil, err
	}
	var ids []string
	for i := int64(0); i < l.Len(); i++ {
		ids = append(ids, l.At(i).ID)
	}
	return ids, nil
}

func cmdGrants(_ context.Context, e *env, fs *flag.FlagSet, pos []string) error {
	w, err := e.open()
	if err != nil {
		return err
	}
	if len(pos) > 0 && pos[0] == "revoke" {
		return revokeGrant(e, w, fs, pos[1:])
	}
	ids, err := licenceIDs(w, pos)
	if err != nil {
		return err
	}
	var all []*mobilesdk.Grant
	for _, id := range ids {
		l, err := w.Grants(id)
		if err != nil {
			return holderErr(e, fmt.Errorf("%s: %w", id, err))
		}
		for i := int64(0); i < l.Len(); i++ {
			all = append(all, l.At(i))
		}
	}
	if flagBool(fs, "json") {
		return writeJSON(e.stdout, all)
	}
	if len(all) == 0 {
		fmt.Fprintln(e.stderr, "elicense-wallet grants: no grants")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GRANT\tLICENCE\tSTATE\tUSE\tNOT AFTER\tFIELDS\tSERVICE")
	for _, g := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s · %s\n", g.ID, g.Licence, g.State, g.Use,
			time.Unix(g.NotAfter, 0).Format("2006-01-02 15:04"), g.Fields, cmp.Or(g.RPName, g.RPID), cmp.Or(g.MatterName, g.MatterCode))
	}
	return tw.Flush()
}

func revokeGrant(e *env, w *mobilesdk.Wallet, fs *flag.FlagSet, pos []string) error {
	grant, err := oneArg(pos, "grant ID")
	if err != nil {
		return err
	}
	licence := flagString(fs, "licence")
	if licence == "" {
		// Find the licence the grant is of.
		ids, err := licenceIDs(w, nil)
		if err != nil {
			return err
		}
	search:
		for _, id := range ids {
			l, err := w.Grants(id)
			if err != nil {
				return holderErr(e, fmt.Errorf("%s: %w", id, err))
			}
			for i := int64(0); i < l.Len(); i++ {
				if l.At(i).ID == grant {
					licence = id
					break search
				}
			}
		}
		if licence == "" {
			return fmt.Errorf("no licence in this wallet has grant %s", grant)
		}
	}
	if err := w.RevokeGrant(licence, grant); err != nil {
		return holderErr(e, err)
	}
	fmt.Fprintf(e.stdout, "revoked %s\n", grant)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func cmdUses(_ context.Context, e *env, fs *flag.FlagSet, pos []string) error {
	w, err := e.open()
	if err != nil {
		return err
	}
	ids, err := licenceIDs(w, pos)
	if err != nil {
		return err
	}
	type licUse struct {
		Licence string
		*mobilesdk.Use
	}
	var all []licUse
	for _, id := range ids {
		l, err := w.Uses(id)
		if err != nil {
			return holderErr(e, fmt.Errorf("%s: %w", id, err))
		}
		for i := int64(0); i < l.Len(); i++ {
			all = append(all, licUse{id, l.At(i)})
		}
	}
	bad := 0
	for _, u := range all {
		if !u.Verified {
			bad++
		}
	}
	if flagBool(fs, "json") {
		if err := writeJSON(e.stdout, all); err != nil {
			return err
		}
	} else {
		var tw *tabwriter.Writer
		lic := ""
		for _, u := range all {
			if u.Licence != lic { // a heading and a table per licence
				if tw != nil {
					tw.Flush()
					fmt.Fprintln(e.stdout)
				}
				lic = u.Licence
				fmt.Fprintf(e.stdout, "%s\n", lic)
				tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				// The Chinese text last: tabwriter counts a Chinese
				// character as one column, a terminal shows it as two.
				fmt.Fprintln(tw, "\tINDEX\tTIME\tKIND\tGRANT\tDETAIL")
			}
			mark := "✓"
			if !u.Verified {
				mark = "✗"
			}
			detail := ""
			switch {
			case u.Counter != "":
				detail = u.Verdict + " · " + u.Counter
			case u.Kind == "grant":
				detail = u.Fields + " · " + u.RPName + " · " + u.MatterName
			case u.RPName != "":
				detail = u.RPName
			}
			if !u.Verified {
				detail = "NOT VERIFIED: " + u.Problem + " " + detail
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", mark, u.Index, time.Unix(u.Time, 0).Format("2006-01-02 15:04:05"),
				u.Kind, u.Grant, detail)
		}
		if tw != nil {
			tw.Flush()
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d uses did not verify against the ledger", bad, len(all))
	}
	return nil
}

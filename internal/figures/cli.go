package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// cli runs the subcommand args name, writing what it prints to w.
func cli(args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: figures plan|report [flags] (run scripts/figures instead)")
	}
	fs := flag.NewFlagSet("figures "+args[0], flag.ContinueOnError)
	var o options
	var only, dir, started, load, pgVersion string
	var markdown bool
	fs.BoolVar(&o.quick, "quick", false, "the short -benchtime of each run")
	fs.BoolVar(&o.long, "long", false, "include the long runs")
	fs.StringVar(&o.pg, "pg", "", "the PostgreSQL DSN; empty runs no PostgreSQL figure")
	fs.StringVar(&only, "only", "", "only the runs whose id matches this regexp")
	fs.IntVar(&o.count, "count", 1, "the -count the runs had")
	fs.StringVar(&dir, "dir", "", "report: the directory holding <id>.txt, each run's output")
	fs.BoolVar(&markdown, "markdown", false, "report: the table as docs/performance.md has it")
	fs.StringVar(&started, "started", "", "report: when the runs began (RFC 3339)")
	fs.StringVar(&load, "load", "", "report: /proc/loadavg's first three fields when the runs began")
	fs.StringVar(&pgVersion, "pg-version", "", "report: the PostgreSQL server's version")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return fmt.Errorf("-only: %v", err)
		}
		o.only = re
	}
	switch args[0] {
	case "plan":
		for _, p := range plan(o) {
			fmt.Fprintln(w, p.planLine())
		}
		return nil
	case "report":
		if dir == "" {
			return errors.New("report: -dir is required")
		}
		var t0 time.Time
		if started != "" {
			var err error
			if t0, err = time.Parse(time.RFC3339, started); err != nil {
				return fmt.Errorf("-started: %v", err)
			}
		}
		pg := ""
		if o.pg != "" {
			pg = strings.TrimSpace(pgVersion + " at " + redact(o.pg))
		}
		return report(w, dir, o, markdown, func(cpu string) machine { return describe(t0, load, pg, cpu) })
	}
	return fmt.Errorf("no subcommand %q: plan or report", args[0])
}

// report prints the table of the runs in dir, even when some values are
// missing (marked so), and then returns what went wrong.
// machineOf describes the machine given the CPU the output names.
func report(w io.Writer, dir string, o options, markdown bool, machineOf func(cpu string) machine) error {
	res, loadErr := load(dir, o)
	rs, rowsErr := rows(res, o)
	cpu := ""
	for _, r := range res {
		if c := strings.TrimSpace(r.config["cpu"]); c != "" {
			cpu = c
		}
	}
	m := machineOf(cpu)
	if markdown {
		writeMarkdown(w, rs, m, o)
	} else {
		writeText(w, rs, m, o)
	}
	return errors.Join(loadErr, rowsErr)
}

// caveat says how the run differs from a full one.
func caveat(o options) string {
	var c []string
	if o.quick {
		c = append(c, "`--quick`: short runs, a smoke test, not figures")
	}
	if o.count > 1 {
		c = append(c, fmt.Sprintf("each value the median of %d runs, [least–greatest]", o.count))
	}
	return strings.Join(c, "; ")
}

func writeText(w io.Writer, rs []row, m machine, o options) {
	fmt.Fprintln(w, "Figures of docs/performance.md, measured on:")
	for _, l := range m.lines() {
		fmt.Fprintln(w, "  "+l)
	}
	if c := caveat(o); c != "" {
		fmt.Fprintln(w, "  ("+c+")")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| what | benchmark or command | this run | target | met |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintln(w, markdownRow(r.what, r.bench, r.now, r.target, r.met))
	}
}

// writeMarkdown prints the table as docs/performance.md holds it, with
// this run's values as "now", after the machine it was measured on.
func writeMarkdown(w io.Writer, rs []row, m machine, o options) {
	fmt.Fprintf(w, "Measured with `scripts/figures` on %s.\n", strings.Join(m.lines(), "; "))
	if c := caveat(o); c != "" {
		fmt.Fprintln(w, "("+c+")")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, tableHeader)
	fmt.Fprintln(w, tableRule)
	for _, r := range rs {
		fmt.Fprintln(w, markdownRow(r.what, r.bench, r.now, r.target))
	}
}

const (
	tableHeader = "| what | benchmark or command | now | target |"
	tableRule   = "|---|---|---|---|"
)

func markdownRow(cells ...string) string {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(c, "|", `\|`)
	}
	return "| " + strings.Join(cells, " | ") + " |"
}

// redact hides a DSN's password.
func redact(dsn string) string {
	return regexp.MustCompile(`(://[^:/@]*):[^@/]*@`).ReplaceAllString(dsn, "$1:xxxxx@")
}

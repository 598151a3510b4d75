// Command figures turns the output of the benchmarks behind
// docs/performance.md into that document's table of figures, with each
// figure's target and whether this run met it, and the machine the run
// was on.
//
// It is the Go half of scripts/figures, which runs the benchmarks; run
// that, not this. The list of figures, the benchmarks behind them and
// their targets is in table.go, the one place it is kept: scripts/figures
// asks for it (figures plan), and a test holds docs/performance.md's
// table to it. A figure with no benchmark is listed with the command that
// measures it by hand.
//
//	figures plan [flags]              the go test runs, one a line: id, package, -bench, -benchtime, -timeout, environment (tab-separated)
//	figures report -dir DIR [flags]   the table from DIR/<id>.txt, the output of each run
//
// Both take -quick, -long, -pg DSN and -only REGEXP, and must be given
// the same ones; report also takes -markdown, -count and the machine
// details scripts/figures found. report exits 1 when a planned run's
// output is missing, a benchmark failed, or a figure's value is not in
// the output (a benchmark renamed or gone).
package main

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// A command is one subcommand. run gets the arguments after the command
// name and returns the exit status.
type command struct {
	name    string
	summary string                 // one line, for the command list
	usage   string                 // full help: synopsis, description, examples (flags are appended)
	flags   func(fs *flag.FlagSet) // declares the flags; may be nil
	run     func(e *env, fs *flag.FlagSet) int
}

// env is what a command may touch of the outside world, so tests can run
// commands in-process.
type env struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
}

var commands []*command

// register adds a command; each cmd_<name>.go calls it from init.
func register(c *command) { commands = append(commands, c) }

func main() {
	os.Exit(run(os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv}))
}

func run(args []string, e *env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(e.stdout)
		return exitOK
	case "help":
		if len(args) == 1 {
			usage(e.stdout)
			return exitOK
		}
		if c := lookup(args[1]); c != nil {
			fs := newFlagSet(c)
			printHelp(e.stdout, c, fs)
			return exitOK
		}
		fmt.Fprintf(e.stderr, "elicense help: unknown command %q\n", args[1])
		return exitUsage
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(e.stderr, "elicense: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return exitUsage
	}
	fs := newFlagSet(c)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(e.stdout, c, fs)
			return exitOK
		}
		fmt.Fprintf(e.stderr, "elicense %s: %v\nRun 'elicense %s --help' for usage.\n", c.name, err, c.name)
		return exitUsage
	}
	return c.run(e, fs)
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func newFlagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("elicense "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed by run
	if c.flags != nil {
		c.flags(fs)
	}
	return fs
}

func printHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprint(w, strings.TrimLeft(c.usage, "\n"))
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// usageError reports a usage problem of command c and returns exitUsage.
func usageError(e *env, c string, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "elicense %s: %s\nRun 'elicense %s --help' for usage.\n", c, fmt.Sprintf(format, args...), c)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `elicense: electronic licence (电子证照) issuer server and admin CLI

Usage:
  elicense <command> [flags] [arguments]
  elicense help <command>
  elicense <command> --help

Commands:
`)
	cs := slices.Clone(commands)
	slices.SortFunc(cs, func(a, b *command) int { return strings.Compare(a.name, b.name) })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Exit status: 0 success, 1 failure, 2 usage error.
`)
}

// Command cc-router routes Claude Code across several Claude subscriptions.
// With no arguments it runs the tray app; subcommands run it headless or
// manage accounts. This file is wiring only: each subcommand lives in a
// cmd_*.go file and registers itself.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/cc-router/cc-router/internal/config"
)

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string // one line for the top-level help
	usage   string // full help: usage line, description, flags are appended, examples
	// run executes the command with its arguments (after the name) and
	// returns the process exit code.
	run func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]*command{}

// register adds a subcommand; called from init in cmd_*.go files.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

// defaultCommand runs when no subcommand is given (the tray app).
var defaultCommand = "tray"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	name := defaultCommand
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			if len(args) > 1 {
				if c, ok := commands[args[1]]; ok {
					return c.run([]string{"--help"}, stdout, stderr)
				}
			}
			printUsage(stdout)
			return 0
		}
		if !strings.HasPrefix(args[0], "-") {
			name, args = args[0], args[1:]
		}
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "cc-router: unknown command %q\n\n", name)
		printUsage(stderr)
		return 2
	}
	return c.run(args, stdout, stderr)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "cc-router routes Claude Code across several Claude subscriptions.")
	fmt.Fprintln(w, "\nUsage:\n  cc-router [command] [flags]\n\nWith no command, cc-router runs as a tray (menu-bar) app.\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'cc-router help COMMAND' or 'cc-router COMMAND --help' for a command's flags and examples.")
}

// newFlagSet returns a FlagSet whose --help prints the command's usage,
// its flags, and exits the command with status 0.
func newFlagSet(c *command, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cc-router "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintln(out, strings.TrimSpace(c.usage))
		fmt.Fprintln(out, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns (exit code, true) when the command
// should stop: --help (0) or a bad flag (2).
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (int, bool) {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0, true
		}
		if a == "--" {
			break
		}
	}
	if err := fs.Parse(args); err != nil {
		return 2, true
	}
	return 0, false
}

// parseOnlyFlags is parseFlags for commands that take no positional
// arguments: a stray one is a usage error (2) that names it.
func parseOnlyFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	if code, stop := parseFlags(fs, args, stdout); stop {
		return code, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}

// parseRouterFlags is parseOnlyFlags for the commands that run or ask the
// router: it defines the shared router flags on fs (after the command's
// own), parses args and loads the effective configuration (file <
// environment < flags). When stop is true the command returns code; a
// configuration error is printed with the command's name and gives
// badConfig.
func parseRouterFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, badConfig int) (cfg config.Config, code int, stop bool) {
	flags := config.RegisterFlags(fs)
	if code, stop := parseOnlyFlags(fs, args, stdout, stderr); stop {
		return cfg, code, true
	}
	cfg, err := config.Load(flags)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return cfg, badConfig, true
	}
	return cfg, 0, false
}

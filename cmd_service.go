package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cc-router/cc-router/internal/service"
)

func init() {
	c := &command{
		name:    "service",
		summary: "install or remove `cc-router serve` as a login service (no tray needed)",
		usage: `Usage: cc-router service install [--no-start] [-- serve flags…]
       cc-router service uninstall [--no-stop]

Installs the headless router as a per-user service that starts at login: a
systemd user unit (~/.config/systemd/user/cc-router.service) on Linux, a
launchd agent (~/Library/LaunchAgents/com.cc-router.serve.plist) on macOS.
Arguments after "--" are passed to "cc-router serve". For desktops with a
tray, use the tray menu's "Start at login" instead.

Examples:
  cc-router service install
  cc-router service install -- --listen 127.0.0.1:4000
  cc-router service uninstall`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet(c, stderr)
		noStart := fs.Bool("no-start", false, "install: write the service file but do not start it")
		noStop := fs.Bool("no-stop", false, "uninstall: remove the service file without stopping it first")
		if len(args) == 0 {
			fs.Usage()
			return 2
		}
		action := args[0]
		if action == "-h" || action == "--help" || action == "-help" {
			code, _ := parseFlags(fs, args, stdout)
			return code
		}
		if code, stop := parseFlags(fs, args[1:], stdout); stop {
			return code
		}
		exe, err := os.Executable()
		if err == nil {
			exe, err = filepath.EvalSymlinks(exe)
		}
		if err != nil {
			fmt.Fprintf(stderr, "cc-router service: cannot find this binary's path: %v\n", err)
			return 1
		}
		home, _ := os.UserHomeDir()
		spec := service.Spec{Binary: exe, Args: fs.Args(), Home: home}
		switch action {
		case "install":
			path, err := service.Install(spec)
			if err != nil {
				fmt.Fprintf(stderr, "cc-router service install: %v\n", err)
				return 1
			}
			fmt.Fprintf(stdout, "installed %s\n", path)
			return activate(spec, path, false, *noStart, stdout, stderr)
		case "uninstall":
			path, err := spec.Path()
			if err != nil {
				fmt.Fprintf(stderr, "cc-router service uninstall: %v\n", err)
				return 1
			}
			if code := activate(spec, path, true, *noStop, stdout, stderr); code != 0 {
				return code
			}
			if _, err := service.Uninstall(spec); err != nil {
				fmt.Fprintf(stderr, "cc-router service uninstall: %v\n", err)
				return 1
			}
			fmt.Fprintf(stdout, "removed %s\n", path)
			return 0
		}
		fmt.Fprintf(stderr, "cc-router service: unknown action %q (want install or uninstall)\n", action)
		return 2
	}
	register(c)
}

// activate runs (or, with skip, only prints) the commands that start or
// stop the installed service.
func activate(spec service.Spec, path string, stop, skip bool, stdout, stderr io.Writer) int {
	for _, argv := range service.ActivateCommands(spec, path, stop) {
		if skip {
			fmt.Fprintf(stdout, "to apply it, run: %s\n", strings.Join(argv, " "))
			continue
		}
		if err := service.Run(argv); err != nil {
			if stop { // the service may never have been started
				fmt.Fprintf(stderr, "note: %v\n", err)
				continue
			}
			fmt.Fprintf(stderr, "cc-router service: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "ran: %s\n", strings.Join(argv, " "))
	}
	return 0
}

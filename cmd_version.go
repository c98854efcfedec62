package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func init() {
	c := &command{
		name:    "version",
		summary: "print the version",
		usage: `Usage: cc-router version

Prints cc-router's version, the Go version and the platform.

Example:
  cc-router version`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet(c, stderr)
		if code, stop := parseOnlyFlags(fs, args, stdout, stderr); stop {
			return code
		}
		v := version
		if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		fmt.Fprintf(stdout, "cc-router %s (%s, %s/%s)\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	register(c)
}

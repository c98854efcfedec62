package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/cc-router/cc-router/internal/config"
)

func init() {
	c := &command{
		name:    "config",
		summary: "print the effective configuration (secrets hidden)",
		usage: `Usage: cc-router config [router flags]

Prints the configuration the router would run with, as JSON: built-in
defaults, overridden by ~/.cc-router/config.json, then by the environment,
then by flags. The proxy secret is never printed. Unknown keys in the file
are an error that names the key.

Environment:
` + config.Env + `

Examples:
  cc-router config
  PORT=4000 cc-router config
  cc-router config --upstream http://localhost:4000`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet(c, stderr)
		cfg, code, done := parseRouterFlags(fs, args, stdout, stderr, 1)
		if done {
			return code
		}
		path, _ := config.Path()
		out, _ := json.MarshalIndent(struct {
			File string `json:"file"`
			config.Config
		}{path, cfg.Redacted()}, "", "  ")
		fmt.Fprintln(stdout, string(out))
		return 0
	}
	register(c)
}

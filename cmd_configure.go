package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/cc-router/cc-router/internal/config"
	"github.com/cc-router/cc-router/tray"
)

func init() {
	c := &command{
		name:    "configure-claude",
		summary: "point Claude Code at cc-router (or --revert)",
		usage: `Usage: cc-router configure-claude [--revert] [--settings FILE] [--base-url URL]

Writes env.ANTHROPIC_BASE_URL and env.ANTHROPIC_AUTH_TOKEN into Claude Code's
settings.json ($CLAUDE_CONFIG_DIR/settings.json, else ~/.claude/settings.json)
so Claude Code sends its requests through cc-router. Every other key and value
is kept as it was; the previous file is copied to settings.json.cc-router-backup
and the new one is written atomically. A malformed settings.json is reported
with its line and column and left untouched.

The base URL is http:// + the router's listen address (0.0.0.0 becomes
127.0.0.1) and the token is its
proxy secret when one is set, else a placeholder the router accepts (both
from ~/.cc-router/config.json, CC_ROUTER_LISTEN/PORT, CC_ROUTER_PROXY_SECRET). --revert removes exactly what was
added and restores values it replaced; a value changed by hand since is kept.

Examples:
  cc-router configure-claude
  cc-router configure-claude --base-url http://127.0.0.1:4000
  cc-router configure-claude --revert`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet(c, stderr)
		revert := fs.Bool("revert", false, "remove what configure-claude added")
		settings := fs.String("settings", "", "Claude Code's settings.json (default: $CLAUDE_CONFIG_DIR or ~/.claude)")
		base := fs.String("base-url", "", "the router's base URL (default: http:// + the listen address, 127.0.0.1:3456)")
		if code, stop := parseOnlyFlags(fs, args, stdout, stderr); stop {
			return code
		}
		cs, err := claudeSettings(*settings)
		if err != nil {
			fmt.Fprintln(stderr, "cc-router configure-claude:", err)
			return 1
		}
		if *revert {
			res, err := cs.Revert()
			if err != nil {
				fmt.Fprintln(stderr, "cc-router configure-claude:", err)
				return 1
			}
			if !res.Changed {
				fmt.Fprintf(stdout, "Nothing to revert in %s.\n", cs.Path)
			} else {
				fmt.Fprintf(stdout, "Removed cc-router from %s (previous file saved as %s).\n", cs.Path, res.Backup)
			}
			if len(res.Kept) > 0 {
				fmt.Fprintf(stdout, "Left alone, changed by hand since: %s.\n", strings.Join(res.Kept, ", "))
			}
			return 0
		}
		cfg, err := config.Load(nil)
		if err != nil {
			fmt.Fprintln(stderr, "cc-router configure-claude:", err)
			return 1
		}
		url := *base
		if url == "" {
			url = config.ClientURL(cfg.Listen)
		}
		token, secret := tray.PlaceholderToken, cfg.ProxySecret
		if secret != "" {
			token = secret
		}
		res, err := cs.Configure(url, token)
		if err != nil {
			fmt.Fprintln(stderr, "cc-router configure-claude:", err)
			return 1
		}
		switch {
		case !res.Changed:
			fmt.Fprintf(stdout, "%s already routes Claude Code through %s.\n", cs.Path, url)
		case res.Backup != "":
			fmt.Fprintf(stdout, "Claude Code now uses %s (set in %s; previous file saved as %s).\n", url, cs.Path, res.Backup)
		default:
			fmt.Fprintf(stdout, "Claude Code now uses %s (created %s).\n", url, cs.Path)
		}
		if secret == "" {
			fmt.Fprintln(stdout, "No proxy secret is set, so the token written is a placeholder the router accepts.")
		}
		fmt.Fprintln(stdout, "Undo with: cc-router configure-claude --revert")
		return 0
	}
	register(c)
}

// claudeSettings returns the settings editor for path (default Claude
// Code's own) with its record kept in cc-router's directory.
func claudeSettings(path string) (tray.ClaudeSettings, error) {
	if path == "" {
		p, err := tray.DefaultClaudeSettingsPath()
		if err != nil {
			return tray.ClaudeSettings{}, err
		}
		path = p
	}
	dir, err := config.Dir()
	if err != nil {
		return tray.ClaudeSettings{}, err
	}
	return tray.ClaudeSettings{Path: path, StatePath: filepath.Join(dir, "claude-settings-edit.json")}, nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cc-router/cc-router/internal/config"
	"github.com/cc-router/cc-router/internal/humanize"
	"github.com/cc-router/cc-router/proxy"
)

// Exit codes of `cc-router status`.
const (
	statusOK         = 0
	statusDegraded   = 1
	statusNotRunning = 3
)

func init() {
	c := &command{
		name:    "status",
		summary: "show the running router's accounts and health",
		usage: `Usage: cc-router status [--json] [--url URL] [router flags]

Asks the running router (GET /cc-router/health on its listen address) and
prints one line per account: state, time to token expiry, 5h and 7d
utilization as last reported by Anthropic, requests, errors and tokens
served. With --json it prints the health document as the router sent it.

Exit status: 0 when routing works, 1 when the router is degraded (no
account can serve), 3 when no router answers.

Examples:
  cc-router status
  cc-router status --json | jq '.accounts[] | {id, state}'
  cc-router status --url http://10.0.0.5:3456`,
	}
	c.run = func(args []string, stdout, stderr io.Writer) int {
		fs := newFlagSet(c, stderr)
		asJSON := fs.Bool("json", false, "print the health document as JSON")
		rawURL := fs.String("url", "", "the router's base URL (default: from the listen address)")
		cfg, code, done := parseRouterFlags(fs, args, stdout, stderr, 2)
		if done {
			return code
		}
		base := *rawURL
		if base == "" {
			base = config.ClientURL(cfg.Listen)
		}
		h, raw, err := fetchHealth(base, cfg.ProxySecret)
		if err != nil {
			fmt.Fprintf(stderr, "cc-router status: %v\n", err)
			return statusNotRunning
		}
		if *asJSON {
			stdout.Write(raw)
			if len(raw) > 0 && raw[len(raw)-1] != '\n' {
				fmt.Fprintln(stdout)
			}
		} else {
			printStatus(stdout, base, h, time.Now())
		}
		if h.Status != "ok" {
			return statusDegraded
		}
		return statusOK
	}
	register(c)
}

func fetchHealth(base, secret string) (proxy.Health, []byte, error) {
	var h proxy.Health
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := strings.TrimRight(base, "/") + proxy.HealthPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return h, nil, err
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return h, nil, fmt.Errorf("no router answers at %s (start one with `cc-router` or `cc-router serve`): %v", base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return h, nil, fmt.Errorf("reading %s: %v", url, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return h, nil, fmt.Errorf("the router at %s wants its proxy secret (set proxySecret in config.json, CC_ROUTER_PROXY_SECRET or --secret-file)", base)
	}
	if resp.StatusCode != http.StatusOK {
		return h, nil, fmt.Errorf("%s answered %s", url, resp.Status)
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, nil, fmt.Errorf("%s did not answer with a health document: %v", url, err)
	}
	return h, raw, nil
}

func printStatus(w io.Writer, base string, h proxy.Health, now time.Time) {
	requests := "requests"
	if h.TotalRequests == 1 {
		requests = "request"
	}
	fmt.Fprintf(w, "Router %s at %s · upstream %s · %d/%d accounts usable · up %s · %d %s\n\n",
		h.Status, base, h.Upstream, h.UsableAccounts, len(h.Accounts),
		humanize.Duration(time.Duration(h.UptimeSeconds)*time.Second), h.TotalRequests, requests)
	if len(h.Accounts) == 0 {
		fmt.Fprintln(w, "No accounts yet: add one with `cc-router login` or `cc-router import`.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tSTATE\tEXPIRES IN\t5H\t7D\tREQUESTS\tERRORS\tTOKENS")
	for _, a := range h.Accounts {
		name := a.ID
		if a.Email != "" && a.Email != a.ID {
			name += " (" + a.Email + ")"
		}
		state := a.State
		if !a.CoolingUntil.IsZero() && a.CoolingUntil.After(now) {
			state += " " + humanize.Duration(a.CoolingUntil.Sub(now))
		}
		expires := "expired"
		if a.ExpiresInSeconds > 0 {
			expires = humanize.Duration(time.Duration(a.ExpiresInSeconds) * time.Second)
		}
		t := a.Tokens
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f%%\t%.0f%%\t%d\t%d\t%s\n", name, state, expires,
			a.Utilization5h*100, a.Utilization7d*100, a.Requests, a.Errors,
			humanize.Count(t.InputTokens+t.OutputTokens+t.CacheReadInputTokens+t.CacheCreationInputTokens))
	}
	tw.Flush()
}

// Command fakeserver runs the loopback fake of Anthropic's servers on its
// own, with demo accounts written into an accounts.json, so cc-router can
// be tried (and its tray photographed) without any real account:
//
//	go run ./internal/fakeanthropic/fakeserver -accounts /tmp/demo/accounts.json
//	CC_ROUTER_HOME=/tmp/demo CC_ROUTER_TOKEN_URL=<printed token URL> \
//	  cc-router --upstream <printed URL>
//
// It prints the base URL and the token URL on stdout and runs until killed.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cc-router/cc-router/internal/atomicfile"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

func main() {
	accounts := flag.String("accounts", "", "write demo accounts to this accounts.json (required)")
	ids := flag.String("ids", "work-max,home-max,team-pro", "comma-separated account ids")
	util := flag.String("util", "0.23/0.41,0.62/0.18,0.97/0.55", "per account 5h/7d utilization (0..1) the fake reports")
	flag.Parse()
	if *accounts == "" {
		fmt.Fprintln(os.Stderr, "fakeserver: -accounts is required")
		os.Exit(2)
	}
	fake := fakeanthropic.New()
	defer fake.Close()

	utils := strings.Split(*util, ",")
	var records []map[string]any
	for i, id := range strings.Split(*ids, ",") {
		pair := fake.IssueTokens(id + "@example.com")
		var u5, u7 float64
		if i < len(utils) {
			fmt.Sscanf(utils[i], "%g/%g", &u5, &u7)
		}
		status := "allowed"
		if u5 >= 0.9 || u7 >= 0.9 {
			status = "allowed_warning"
		}
		now := time.Now()
		fake.SetRateLimit(pair.AccessToken, fakeanthropic.RateLimit{
			Status: status, Status5h: "allowed", Status7d: "allowed", Claim: "five_hour",
			Util5h: u5, Util7d: u7, Reset: now.Add(3 * time.Hour), Reset5h: now.Add(3 * time.Hour), Reset7d: now.Add(4 * 24 * time.Hour),
		})
		records = append(records, map[string]any{
			"id": id, "email": pair.Email, "accessToken": pair.AccessToken, "refreshToken": pair.RefreshToken,
			"expiresAt": now.Add(time.Duration(pair.ExpiresIn) * time.Second).UnixMilli(),
			"scopes":    []string{"user:inference", "user:profile"}, "source": "login",
		})
	}
	data, _ := json.MarshalIndent(records, "", "  ")
	if err := os.MkdirAll(filepath.Dir(*accounts), 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "fakeserver:", err)
		os.Exit(1)
	}
	if err := atomicfile.WriteFile(*accounts, data, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "fakeserver:", err)
		os.Exit(1)
	}
	fmt.Println(fake.URL)
	fmt.Println(fake.TokenURL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}

package credentials_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/fakeanthropic"
)

// A longer crash run: go test ./credentials/ -run Killed -args -crashloops=1000
var crashLoops = flag.Int("crashloops", 150, "how many times the crash test kills a child rewriting the store")

// The test binary doubles as the child process of the multi-process tests:
// with childEnv set it runs that child's part and exits.
const childEnv = "CREDENTIALS_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

func runChild(role string) int {
	m, err := credentials.NewManager(credentials.Config{
		Path:     os.Getenv("CHILD_ACCOUNTS"),
		TokenURL: os.Getenv("CHILD_TOKEN_URL"),
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	id := os.Getenv("CHILD_ACCOUNT")
	fmt.Println("ready")
	switch role {
	case "access":
		// Wait for the parent's go, then ask for a token once.
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			return 1
		}
		tok, err := m.AccessToken(context.Background(), id)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 1
		}
		fmt.Println(tok)
		return 0
	case "rewrite":
		// Refresh (and so rewrite the store) until killed.
		for {
			if err := m.Refresh(context.Background(), id); err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				return 1
			}
		}
	}
	return 2
}

// startChild runs the test binary as a child in role.
func startChild(t *testing.T, role, path string, fake *fakeanthropic.Server, id string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, "CHILD_ACCOUNTS="+path,
		"CHILD_TOKEN_URL="+fake.TokenURL(), "CHILD_ACCOUNT="+id)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not start: %q %v; stderr: %s", line, err, stderr.String())
	}
	return cmd, stdin, r
}

func TestTwoProcessesRefreshOnce(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	fake.SetTokenDelay(100 * time.Millisecond) // the second process arrives while the first refreshes
	pair := fake.IssueTokens("")
	path := writeAccounts(t, seedFrom("acct", pair, time.Now().Add(time.Minute)))

	type child struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *bufio.Reader
	}
	var kids []child
	for range 2 {
		cmd, in, out := startChild(t, "access", path, fake, "acct")
		kids = append(kids, child{cmd, in, out})
	}
	for _, k := range kids {
		fmt.Fprintln(k.stdin, "go")
	}
	var got []string
	for i, k := range kids {
		line, err := k.out.ReadString('\n')
		if werr := k.cmd.Wait(); err != nil || werr != nil {
			t.Fatalf("child %d: %v %v", i, err, werr)
		}
		got = append(got, strings.TrimSpace(line))
	}
	if calls := fake.TokenCalls(); calls != 1 {
		t.Fatalf("two processes made %d token calls, want exactly 1", calls)
	}
	stored := storedByID(t, path, "acct")
	for i, tok := range got {
		if !same(tok, stored["accessToken"].(string)) {
			t.Errorf("child %d got %s; the file holds %s", i, red(tok), red(stored["accessToken"].(string)))
		}
	}
	if !fake.ValidAccessToken(got[0]) || !fake.RefreshTokenLive(stored["refreshToken"].(string)) {
		t.Errorf("the shared tokens are not the fake's live ones")
	}
}

func TestKilledWriterNeverCorruptsTheStore(t *testing.T) {
	fake := fakeanthropic.New()
	defer fake.Close()
	foreign := `{"id":"gpt","provider":"openai","apiKey":"not-ours","nested":{"a":[1,2,3]}}`
	var atLast, atPrev, untouched int
	var withTemps string // a store a killed writer left a temp file beside
	leftTemps := 0
	for i := range *crashLoops {
		pair := fake.IssueTokens("")
		path := writeAccounts(t)
		seed, _ := json.Marshal(seedFrom("acct", pair, time.Now().Add(time.Hour)))
		if err := os.WriteFile(path, []byte("[\n"+string(seed)+",\n"+foreign+"\n]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd, _, _ := startChild(t, "rewrite", path, fake, "acct")
		time.Sleep(time.Duration(rand.IntN(30000)) * time.Microsecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()

		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".accounts.json.tmp-*")); len(left) > 0 {
			withTemps = path
			leftTemps++
		}
		recs := storedAccounts(t, path) // fails the test if it does not parse
		if len(recs) != 2 {
			t.Fatalf("kill %d: %d records, want 2", i, len(recs))
		}
		if !strings.Contains(string(data), foreign) {
			t.Fatalf("kill %d: the other provider's record was not kept byte for byte", i)
		}
		issued := fake.RefreshChain(pair.AccountUUID)
		last, prev := issued[len(issued)-1], ""
		if len(issued) > 1 {
			prev = issued[len(issued)-2]
		}
		rt := recs[0]["refreshToken"].(string)
		if rt != last && rt != prev {
			t.Fatalf("kill %d: the file holds %s, neither the last issued refresh token %s nor the one before %s",
				i, red(rt), red(last), red(prev))
		}
		switch {
		case rt == pair.RefreshToken:
			untouched++
		case rt == last:
			atLast++
		default:
			atPrev++
		}
		if rt == last && !fake.ValidAccessToken(recs[0]["accessToken"].(string)) {
			t.Fatalf("kill %d: mixed record: the newest refresh token with an access token the fake does not know", i)
		}
	}
	// Temp files of killed writers are cleaned up by the next writer.
	if withTemps != "" {
		m := newManager(t, withTemps, fake)
		if err := m.SetEnabled("acct", false); err != nil {
			t.Fatal(err)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(withTemps), ".accounts.json.tmp-*")); len(left) > 0 {
			t.Errorf("%d temp files left after a write", len(left))
		}
	}
	t.Logf("%d kills after %d refreshes: file held the last issued token %d times, the one before %d times, the seed %d times; %d kills left a temp file",
		*crashLoops, fake.TokenCalls(), atLast, atPrev, untouched, leftTemps)
}

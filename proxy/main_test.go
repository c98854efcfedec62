package proxy

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// Every env registers its log and a way to list its tokens; after the
// whole run, TestMain checks that no log line of any test held any token.
var runRecord struct {
	mu   sync.Mutex
	envs []*env
}

func recordEnv(e *env) {
	runRecord.mu.Lock()
	defer runRecord.mu.Unlock()
	runRecord.envs = append(runRecord.envs, e)
}

func TestMain(m *testing.M) {
	code := m.Run()
	runRecord.mu.Lock()
	envs := runRecord.envs
	runRecord.mu.Unlock()
	var logs strings.Builder
	var tokens []string
	for _, e := range envs {
		logs.WriteString(e.logs.String())
		tokens = append(tokens, e.finalTokens...)
	}
	leaks := 0
	for _, tok := range tokens {
		if len(tok) >= 20 && strings.Contains(logs.String(), tok) {
			leaks++
			fmt.Fprintf(os.Stderr, "a token (prefix %.14s) appears in the logs of the test run\n", tok)
		}
	}
	if code == 0 && leaks > 0 {
		code = 1
	}
	if code == 0 && len(tokens) == 0 && len(envs) > 0 {
		fmt.Fprintln(os.Stderr, "the log check saw no tokens: it checked nothing")
		code = 1
	}
	os.Exit(code)
}

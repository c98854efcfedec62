package testrouter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build compiles the cc-router binary (the module's main package) into dir
// and returns its path. With race it is built with the race detector, so
// end-to-end tests find data races in the router process too.
func Build(dir string, race bool) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "cc-router")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(args, ".")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, msg)
	}
	return bin, nil
}

// Account is one record of accounts.json as the benchmarks and tests write it.
type Account struct {
	ID           string
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
}

// WriteAccounts writes accounts as the store's JSON array to path (0600).
func WriteAccounts(path string, accounts []Account) error {
	type record struct {
		ID           string   `json:"id"`
		AccessToken  string   `json:"accessToken"`
		RefreshToken string   `json:"refreshToken"`
		ExpiresAt    int64    `json:"expiresAt"`
		Scopes       []string `json:"scopes"`
	}
	recs := make([]record, len(accounts))
	for i, a := range accounts {
		recs[i] = record{a.ID, a.AccessToken, a.RefreshToken, a.ExpiresAt.UnixMilli(),
			[]string{"user:inference", "user:profile"}}
	}
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// Options says how to start a router process.
type Options struct {
	Binary   string   // the built cc-router
	Home     string   // CC_ROUTER_HOME: holds accounts.json
	Upstream string   // --upstream: the fake's base URL
	TokenURL string   // CC_ROUTER_TOKEN_URL: the fake's token endpoint
	Args     []string // further `serve` flags
	Env      []string // further environment, KEY=VALUE
	// Log receives the router's stdout and stderr; nil keeps only the last
	// MB for error messages and goroutine dumps.
	Log io.Writer
	// LogFile, when set, takes the router's stdout and stderr directly
	// (no pipe through this process, as benchmarks want); Log is ignored.
	LogFile *os.File
	// ReadyTimeout bounds the wait for /cc-router/health (default 15 s).
	ReadyTimeout time.Duration
}

// Router is a running `cc-router serve` process.
type Router struct {
	URL string // http://127.0.0.1:PORT
	cmd *exec.Cmd

	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
	tail    *tailBuffer
	logFile *os.File // the output when Options.LogFile was set
}

// Start runs `cc-router serve` on a free loopback port and waits until it
// answers /cc-router/health.
func Start(ctx context.Context, o Options) (*Router, error) {
	var lastErr error
	for range 3 { // a free port can be taken between probe and bind
		r, err := start(ctx, o)
		if err == nil {
			return r, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "in use") {
			break
		}
	}
	return nil, lastErr
}

func start(ctx context.Context, o Options) (*Router, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := append([]string{"serve", "--listen", addr}, o.Args...)
	if o.Upstream != "" {
		args = append(args, "--upstream", o.Upstream)
	}
	cmd := exec.Command(o.Binary, args...)
	// GOTRACEBACK=all: a SIGQUIT (Goroutines) dumps every goroutine.
	cmd.Env = append(os.Environ(), "CC_ROUTER_HOME="+o.Home, "HOME="+o.Home, "GOTRACEBACK=all")
	if o.TokenURL != "" {
		cmd.Env = append(cmd.Env, "CC_ROUTER_TOKEN_URL="+o.TokenURL)
	}
	cmd.Env = append(cmd.Env, o.Env...)
	tail := &tailBuffer{max: 1 << 20}
	var out io.Writer = tail
	if o.Log != nil {
		out = io.MultiWriter(tail, o.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if o.LogFile != nil {
		cmd.Stdout, cmd.Stderr = o.LogFile, o.LogFile
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &Router{URL: "http://" + addr, cmd: cmd, done: make(chan struct{}), tail: tail, logFile: o.LogFile}
	go func() {
		r.waitErr = cmd.Wait()
		close(r.done)
	}()
	timeout := o.ReadyTimeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	if err := r.waitReady(ctx, timeout); err != nil {
		r.Kill()
		return nil, err
	}
	return r, nil
}

func (r *Router) waitReady(ctx context.Context, timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", r.URL+"/cc-router/health", nil)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusServiceUnavailable {
				return nil
			}
		}
		select {
		case <-r.done:
			return fmt.Errorf("cc-router serve exited before it was ready (%v); output:\n%s", r.waitErr, r.tail)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cc-router serve not ready after %v; output:\n%s", timeout, r.tail)
		}
	}
}

// Pid is the router's process id.
func (r *Router) Pid() int { return r.cmd.Process.Pid }

// Stats reads the router's resource use.
func (r *Router) Stats() (ProcStats, error) { return ReadProcStats(r.Pid()) }

// Output is the last part of what the router wrote to stdout and stderr.
func (r *Router) Output() string {
	if r.logFile != nil {
		data, _ := os.ReadFile(r.logFile.Name())
		return string(data[max(0, len(data)-8<<10):])
	}
	return r.tail.String()
}

// Exited reports whether the process has exited, and its wait error.
func (r *Router) Exited() (bool, error) {
	select {
	case <-r.done:
		return true, r.waitErr
	default:
		return false, nil
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (r *Router) Kill() {
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// Goroutines ends the router with SIGQUIT, which makes the Go runtime
// print every goroutine's stack, and returns the stacks of its goroutines
// (not the runtime's own). The router is gone afterwards.
func (r *Router) Goroutines(timeout time.Duration) ([]string, error) {
	mark := len(r.tail.String())
	r.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-r.done:
	case <-time.After(timeout):
		r.Kill()
		return nil, fmt.Errorf("cc-router serve did not exit within %v of SIGQUIT", timeout)
	}
	out := r.tail.String()
	if mark <= len(out) {
		out = out[mark:]
	}
	var stacks []string
	for _, block := range strings.Split(out, "\n\n") {
		block = strings.TrimLeft(block, "\n")
		if strings.HasPrefix(block, "goroutine ") && strings.Contains(block, " [") && !runtimeOnly(block) {
			stacks = append(stacks, block)
		}
	}
	if len(stacks) == 0 {
		return nil, fmt.Errorf("no goroutine dump after SIGQUIT; output:\n%s", out)
	}
	return stacks, nil
}

// runtimeOnly reports whether a goroutine's stack holds only the Go
// runtime's own functions (GC workers, the scavenger, …), whose number
// varies with the garbage collector's activity.
func runtimeOnly(block string) bool {
	lines := strings.Split(block, "\n")
	for _, l := range lines[1:] {
		if l == "" || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "created by ") {
			continue
		}
		if !strings.HasPrefix(l, "runtime.") && !strings.HasPrefix(l, "internal/runtime") {
			return false
		}
	}
	return true
}

// Stop sends SIGTERM and waits up to timeout for a clean exit, then kills.
// It returns the process's exit error, if any.
func (r *Router) Stop(timeout time.Duration) error {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(timeout):
		r.Kill()
		return fmt.Errorf("cc-router serve did not exit within %v of SIGTERM; output:\n%s", timeout, r.tail)
	}
	var ee *exec.ExitError
	if errors.As(r.waitErr, &ee) {
		return fmt.Errorf("cc-router serve exited with %v; output:\n%s", r.waitErr, r.tail)
	}
	return r.waitErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

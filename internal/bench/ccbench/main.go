// Command ccbench measures what cc-router adds to a request: it sends the
// same load to the in-repo fake of Anthropic's API directly and through a
// real `cc-router serve` process with three accounts, and prints, for each
// scenario, the figures of both paths and their ratio. `make bench` runs it.
//
// Usage:
//
//	go run ./internal/bench/ccbench [-duration 2s] [-out docs/benchmarks.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/cc-router/cc-router/internal/fakeanthropic"
	"github.com/cc-router/cc-router/internal/testrouter"
)

// scenario is one load shape.
type scenario struct {
	stream      bool
	concurrency int
	bodySize    int
}

func (s scenario) String() string {
	kind := "JSON"
	if s.stream {
		kind = "SSE"
	}
	return fmt.Sprintf("%s c=%d %s", kind, s.concurrency, sizeName(s.bodySize))
}

func sizeName(n int) string {
	if n >= 1000 {
		return fmt.Sprintf("%d KB", n/1000)
	}
	return fmt.Sprintf("%d B", n)
}

// measurement is a scenario's figures on both paths.
type measurement struct {
	sc             scenario
	direct, router result
	directConns    int64
	routerConns    int64
	routerPeakKB   int64
	routerCPU      float64 // router seconds during the routed slices
	// CPU seconds of this process (load generator and fake) during the
	// direct and the routed slices.
	directSelfCPU, routedSelfCPU float64
}

// cpuPerRequest is the CPU time per request of the direct path (load
// generator and fake) and of the routed path (the same plus the router).
func (m *measurement) cpuPerRequest() (direct, routed time.Duration) {
	if m.direct.requests == 0 || m.router.requests == 0 {
		return 0, 0
	}
	direct = time.Duration(m.directSelfCPU / float64(m.direct.requests) * float64(time.Second))
	routed = time.Duration((m.routedSelfCPU + m.routerCPU) / float64(m.router.requests) * float64(time.Second))
	return direct, routed
}

func main() {
	var (
		duration = flag.Duration("duration", 3*time.Second, "measured time of each scenario and path, in alternating slices")
		out      = flag.String("out", "", "also write the report as Markdown to this file")
		bin      = flag.String("bin", "", "cc-router binary to run (default: build it)")
		only     = flag.String("only", "", "run only scenarios whose name contains this")
		selBench = flag.Bool("select", true, "run the proxy's selection benchmark too")
		rounds   = flag.Int("stream-rounds", 10, "requests of the streaming-latency scenario")
		logPath  = flag.String("router-log", "", "write the router's output to this file")
	)
	flag.Parse()
	if err := run(*duration, *out, *bin, *only, *selBench, *rounds, *logPath); err != nil {
		fmt.Fprintln(os.Stderr, "ccbench:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, out, bin, only string, selBench bool, rounds int, logPath string) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "ccbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if bin == "" {
		fmt.Fprintln(os.Stderr, "building cc-router…")
		if bin, err = testrouter.Build(tmp, false); err != nil {
			return err
		}
	}

	fake := fakeanthropic.New()
	defer fake.Close()
	fake.SetReply(fakeanthropic.Reply{}) // the default reply, no delays
	fake.SetRecording(false)             // do not keep 500 KB bodies

	var accounts []testrouter.Account
	for i := range 3 {
		p := fake.IssueTokens(fmt.Sprintf("bench%d@example.com", i+1))
		accounts = append(accounts, testrouter.Account{
			ID: fmt.Sprintf("bench-%d", i+1), AccessToken: p.AccessToken, RefreshToken: p.RefreshToken,
			ExpiresAt: time.Now().Add(time.Duration(p.ExpiresIn) * time.Second),
		})
	}
	home := filepath.Join(tmp, "home")
	if err := testrouter.WriteAccounts(filepath.Join(home, "accounts.json"), accounts); err != nil {
		return err
	}
	// The router logs a line per request: straight into a file, so the
	// load generator does not spend its CPU reading them from a pipe.
	if logPath == "" {
		logPath = filepath.Join(tmp, "router.log")
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	router, err := testrouter.Start(ctx, testrouter.Options{
		Binary: bin, Home: home, Upstream: fake.URL, TokenURL: fake.TokenURL(), LogFile: logFile,
	})
	if err != nil {
		return err
	}
	defer router.Stop(5 * time.Second)

	// The direct path gets the account's token as the router would send it.
	directClient := newClient()
	routedClient := newClient()
	direct := authTransport{base: directClient.Transport, token: accounts[0].AccessToken}
	directClient.Transport = direct

	var ms []measurement
	for _, sc := range scenarios() {
		if only != "" && !strings.Contains(sc.String(), only) {
			continue
		}
		fmt.Fprintf(os.Stderr, "%-22s", sc)
		m, err := measure(ctx, sc, duration, fake, router, directClient, routedClient)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, " %d / %d requests\n", m.direct.requests, m.router.requests)
		ms = append(ms, m)
	}

	var sl *streamLatency
	if only == "" || strings.Contains("stream-latency", only) {
		fmt.Fprintln(os.Stderr, "streaming latency…")
		const gap = 20 * time.Millisecond
		fake.SetReply(fakeanthropic.Reply{EventDelay: gap, Chunks: 20})
		log := &sendLog{sent: map[string][]time.Time{}}
		fake.OnEventSent(log.record)
		r, err := measureStreamLatency(ctx, directClient, routedClient, fake.URL, router.URL,
			requestBody(2000, true), gap, rounds, log)
		fake.OnEventSent(nil)
		fake.SetReply(fakeanthropic.Reply{})
		if err != nil {
			return fmt.Errorf("streaming latency: %w", err)
		}
		sl = &r
	}

	var sel string
	if selBench {
		fmt.Fprintln(os.Stderr, "selection benchmark…")
		sel, err = selectionBenchmark()
		if err != nil {
			return err
		}
	}
	if exited, err := router.Exited(); exited {
		return fmt.Errorf("the router exited during the run (%v):\n%s", err, router.Output())
	}

	rep := report{ms: ms, stream: sl, selection: sel, duration: duration}
	text := rep.markdown()
	fmt.Print(text)
	if out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, []byte(rep.document(text)), 0o644)
	}
	return nil
}

// alternations is how many alternating direct and routed slices a scenario's
// time is cut into, so that a change in the machine's load (other
// processes) hits both paths alike.
const alternations = 4

// measure runs one scenario on both paths, alternating between them.
func measure(ctx context.Context, sc scenario, duration time.Duration, fake *fakeanthropic.Server,
	router *testrouter.Router, directClient, routedClient *http.Client) (measurement, error) {
	m := measurement{sc: sc}
	directClient.CloseIdleConnections()
	routedClient.CloseIdleConnections()
	direct := newLoad(directClient, fake.URL, sc, duration/alternations)
	routed := newLoad(routedClient, router.URL, sc, duration/alternations)

	c0 := fake.ConnsOpened()
	direct.warmupRun(ctx)
	m.directConns = fake.ConnsOpened() - c0
	c0 = fake.ConnsOpened()
	routed.warmupRun(ctx)
	m.routerConns = fake.ConnsOpened() - c0
	direct.warmup, routed.warmup = 0, 0
	if err := testrouter.ResetPeakRSS(router.Pid()); err != nil {
		return m, fmt.Errorf("resetting the router's peak RSS: %w", err)
	}
	self := os.Getpid()
	for range alternations {
		c0 = fake.ConnsOpened()
		me0, err := testrouter.ReadProcStats(self)
		if err != nil {
			return m, err
		}
		m.direct.add(direct.run(ctx))
		me1, err := testrouter.ReadProcStats(self)
		if err != nil {
			return m, err
		}
		m.directSelfCPU += me1.CPUSeconds - me0.CPUSeconds
		m.directConns += fake.ConnsOpened() - c0

		st0, err := router.Stats()
		if err != nil {
			return m, err
		}
		c0 = fake.ConnsOpened()
		m.router.add(routed.run(ctx))
		m.routerConns += fake.ConnsOpened() - c0
		st1, err := router.Stats()
		if err != nil {
			return m, err
		}
		me2, err := testrouter.ReadProcStats(self)
		if err != nil {
			return m, err
		}
		m.routedSelfCPU += me2.CPUSeconds - me1.CPUSeconds
		m.routerCPU += st1.CPUSeconds - st0.CPUSeconds
		m.routerPeakKB = max(m.routerPeakKB, st1.PeakRSSKB)
	}
	m.direct.sort()
	m.router.sort()
	return m, nil
}

func scenarios() []scenario {
	var out []scenario
	for _, stream := range []bool{false, true} {
		for _, c := range []int{1, 32} {
			for _, size := range []int{2_000, 500_000} {
				out = append(out, scenario{stream: stream, concurrency: c, bodySize: size})
			}
		}
	}
	return out
}

func newLoad(c *http.Client, url string, sc scenario, d time.Duration) *load {
	return &load{
		client: c, baseURL: url, body: requestBody(sc.bodySize, sc.stream), stream: sc.stream,
		concurrency: sc.concurrency, duration: d, warmup: 5,
	}
}

// warmupRun sends the warm-up requests now, so that measuring the router's
// resources covers only the measured part.
func (l *load) warmupRun(ctx context.Context) {
	d := l.duration
	l.duration = 0
	l.run(ctx)
	l.duration = d
}

// newClient is the load generator's client. Like Claude Code's, it asks
// for gzip: the fake then compresses on both paths (as Anthropic does), and
// the direct path pays for decompressing as the router does.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     time.Minute,
	}}
}

// authTransport sets the account token a direct request needs.
type authTransport struct {
	base  http.RoundTripper
	token string
}

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+a.token)
	r.Header.Set("Anthropic-Beta", r.Header.Get("Anthropic-Beta")+",oauth-2025-04-20")
	return a.base.RoundTrip(r)
}

// selectionBenchmark runs the proxy package's selection benchmarks.
func selectionBenchmark() (string, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkSelect", "-benchmem", "-benchtime", "200000x", "./proxy/")
	cmd.Dir = moduleRoot()
	outb, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("selection benchmark: %w\n%s", err, outb)
	}
	var lines []string
	for _, l := range strings.Split(string(outb), "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n"), nil
}

func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "."
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}

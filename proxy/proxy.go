package proxy

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cc-router/cc-router/credentials"
	"github.com/cc-router/cc-router/internal/egress"
)

// HealthPath is where the proxy serves its health document.
const HealthPath = "/cc-router/health"

// oauthBeta must be in anthropic-beta for the API to accept OAuth tokens.
const oauthBeta = "oauth-2025-04-20"

// sessionHeader is Claude Code's per-session id.
const sessionHeader = "X-Claude-Code-Session-Id"

// Defaults for Config's zero fields.
const (
	defaultMaxBody        = 32 << 20
	defaultDialTimeout    = 10 * time.Second
	defaultTLSTimeout     = 10 * time.Second
	defaultHeaderTimeout  = 10 * time.Minute
	defaultCooldown429    = 60 * time.Second
	defaultCooldown529    = 30 * time.Second
	defaultAuthCooldown   = 5 * time.Minute
	defaultAffinityTTL    = time.Hour
	defaultAffinityMax    = 10000
	maxCooldown           = 8 * 24 * time.Hour
	maxErrorPeek          = 64 << 10
	maxFirstEventHoldSize = 256 << 10
)

func newProxy(cfg Config, tokens credentials.TokenProvider) (*Proxy, error) {
	if tokens == nil {
		return nil, errors.New("proxy: no token provider")
	}
	if cfg.Upstream == "" {
		cfg.Upstream = DefaultUpstream
	}
	up, err := url.Parse(cfg.Upstream)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return nil, fmt.Errorf("proxy: upstream %q is not an http(s) URL", cfg.Upstream)
	}
	if cfg.Strategy == "" {
		cfg.Strategy = StrategyHeadroom
	}
	policy, err := NewPolicy(cfg.Strategy)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	if cfg.Mode == "" {
		cfg.Mode = "standalone"
		if strings.TrimRight(cfg.Upstream, "/") != DefaultUpstream {
			cfg.Mode = "full"
		}
	}
	setDefault(&cfg.MaxBodyBytes, defaultMaxBody)
	setDefault(&cfg.DialTimeout, defaultDialTimeout)
	setDefault(&cfg.TLSHandshakeTimeout, defaultTLSTimeout)
	setDefault(&cfg.ResponseHeaderTimeout, defaultHeaderTimeout)
	setDefault(&cfg.Cooldown429, defaultCooldown429)
	setDefault(&cfg.Cooldown529, defaultCooldown529)
	setDefault(&cfg.AuthCooldown, defaultAuthCooldown)
	setDefault(&cfg.AffinityTTL, defaultAffinityTTL)
	setDefault(&cfg.AffinityMaxSessions, defaultAffinityMax)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Transport == nil {
		cfg.Transport = newTransport(cfg)
	}
	p := &Proxy{
		cfg:      cfg,
		tokens:   tokens,
		aff:      newAffinity(cfg.AffinityTTL, cfg.AffinityMaxSessions),
		log:      cfg.Logger,
		now:      cfg.Now,
		upstream: up.String(),
		poke:     make(chan struct{}, 1),
	}
	p.started = p.now()
	p.track = newTracker(tokens, policy, p.now)
	p.handler = &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { rewrite(pr, up) },
		Transport:     &failover{p: p, base: cfg.Transport},
		FlushInterval: -1,
		BufferPool:    copyBuffers,
		ErrorHandler:  p.upstreamError,
		ErrorLog:      slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	return p, nil
}

// copyBuffers lends the reverse proxy its response copy buffers; without a
// pool it allocates 32 KB for every response, more than half of all the
// bytes the proxy allocates (measured with pprof under `make bench`).
var copyBuffers = &bufferPool{}

// bufferPool is an httputil.BufferPool of 32 KB buffers.
type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.pool.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.pool.Put(&buf) }

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// newTransport is the default upstream transport: keep-alive connections,
// timeouts on dial, TLS and response headers, none on the body.
func newTransport(cfg Config) *http.Transport {
	dial := egress.DialFunc((&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext)
	if cfg.WrapDial != nil {
		dial = cfg.WrapDial(dial)
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.TLSHandshakeTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// rewrite turns the client's request into the upstream one: same path and
// query on the upstream host, the client's credentials removed, the OAuth
// beta appended, Accept-Encoding left to the transport (so it negotiates
// gzip and decompresses, and usage can be read). The account's token is
// set per attempt by the failover round tripper.
func rewrite(pr *httputil.ProxyRequest, upstream *url.URL) {
	pr.SetURL(upstream)
	h := pr.Out.Header
	h.Del("Authorization")
	h.Del("X-Api-Key")
	h.Del("Accept-Encoding")
	appendBeta(h)
}

// appendBeta adds the OAuth beta to anthropic-beta, keeping the client's
// list as it is.
func appendBeta(h http.Header) {
	vals := h.Values("Anthropic-Beta")
	for _, v := range vals {
		for b := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(b) == oauthBeta {
				return
			}
		}
	}
	switch len(vals) {
	case 0:
		h.Set("Anthropic-Beta", oauthBeta)
	case 1:
		if strings.TrimSpace(vals[0]) == "" {
			h.Set("Anthropic-Beta", oauthBeta)
		} else {
			h.Set("Anthropic-Beta", vals[0]+","+oauthBeta)
		}
	default:
		h.Set("Anthropic-Beta", strings.Join(vals, ",")+","+oauthBeta)
	}
}

// ServeHTTP checks the proxy secret, then serves the health document or
// forwards /v1/ requests.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		writeAPIError(w, http.StatusUnauthorized, errAuthentication,
			"cc-router: missing or wrong proxy secret (send it as Authorization: Bearer or x-api-key)")
		return
	}
	switch {
	case r.URL.Path == HealthPath:
		p.serveHealth(w, r)
	case strings.HasPrefix(r.URL.Path, "/v1/"):
		p.forward(w, r)
	default:
		writeAPIError(w, http.StatusNotFound, errNotFound, "cc-router: no route for "+r.URL.Path)
	}
}

// authorized reports whether r presents the proxy secret, when one is set.
func (p *Proxy) authorized(r *http.Request) bool {
	if p.cfg.Secret == "" {
		return true
	}
	want := []byte(p.cfg.Secret)
	got := r.Header.Get("X-Api-Key")
	if got == "" {
		if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
			got = strings.TrimSpace(a[7:])
		}
	}
	return subtle.ConstantTimeCompare([]byte(got), want) == 1
}

// exchange is one client request's journey through the proxy.
type exchange struct {
	body      []byte
	session   string
	isMessage bool // POST /v1/messages: its response carries usage

	// Set by the round tripper (one goroutine at a time).
	account   string
	status    int
	failovers int
	usage     Usage
	skip      []string
	skipBuf   [4]string
}

type exchangeKey struct{}

// forward reads the body once (so it can be replayed on failover) and
// hands the request to the reverse proxy.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	start := p.now()
	p.track.begin()
	ex := &exchange{
		session:   r.Header.Get(sessionHeader),
		isMessage: r.Method == http.MethodPost && r.URL.Path == "/v1/messages",
	}
	ex.skip = ex.skipBuf[:0]
	body, err := readBody(w, r, p.cfg.MaxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			ex.status = http.StatusRequestEntityTooLarge
			writeAPIError(w, ex.status, errRequestTooLarge,
				fmt.Sprintf("cc-router: request body is larger than %d bytes", p.cfg.MaxBodyBytes))
		} else {
			ex.status = http.StatusBadRequest
			writeAPIError(w, ex.status, errInvalidRequest, "cc-router: could not read the request body")
		}
		p.finish(r, ex, start)
		return
	}
	ex.body = body
	// The reverse proxy aborts the handler with a panic when a response
	// body breaks off (client gone, upstream cut); log the request anyway.
	defer p.finish(r, ex, start)
	r2 := r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex))
	r2.ContentLength = int64(len(body))
	if len(body) == 0 {
		r2.Body = http.NoBody
	} else {
		r2.Body = io.NopCloser(bytes.NewReader(body))
	}
	p.handler.ServeHTTP(&streamFlusher{ResponseWriter: w}, r2)
}

// streamFlusher passes the reverse proxy's flushes on only for event
// streams. The reverse proxy flushes after every write when a reply's
// length is unknown, which it always is once the transport has
// decompressed it; for a JSON reply that costs a second write system call
// (the end of the body goes out on its own), about a tenth of the
// router's CPU on small requests (pprof under make bench). Unflushed, a
// JSON reply leaves in one write when the handler returns, and a large one
// still streams as the server's buffer fills.
type streamFlusher struct {
	http.ResponseWriter
	checked bool // the reply's type has been looked at (its headers are out)
	stream  bool // the reply is an event stream
}

// Flush implements http.Flusher.
func (f *streamFlusher) Flush() {
	if !f.checked {
		f.checked, f.stream = true, isEventStream(f.Header())
	}
	if f.stream {
		_ = http.NewResponseController(f.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (f *streamFlusher) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// readBody reads the whole request body, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	size := 0
	if r.ContentLength > 0 {
		size = int(r.ContentLength)
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}

// finish counts the request and writes its log line (never a token).
func (p *Proxy) finish(r *http.Request, ex *exchange, start time.Time) {
	p.track.finish(ex.status)
	level := slog.LevelInfo
	if ex.status >= 500 || ex.status == 0 {
		level = slog.LevelWarn
	}
	p.log.LogAttrs(r.Context(), level, "request",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", ex.status),
		slog.String("account", ex.account),
		slog.Int64("duration_ms", p.now().Sub(start).Milliseconds()),
		slog.Int("failovers", ex.failovers),
		slog.String("session", shortID(ex.session)),
		slog.Int64("input_tokens", ex.usage.InputTokens),
		slog.Int64("output_tokens", ex.usage.OutputTokens),
		slog.Int64("cache_read_tokens", ex.usage.CacheReadInputTokens),
		slog.Int64("cache_creation_tokens", ex.usage.CacheCreationInputTokens),
		slog.Bool("client_gone", r.Context().Err() != nil),
	)
}

// shortID is enough of a session id to tell sessions apart in a log.
func shortID(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// upstreamError answers when the upstream could not be reached at all.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	ex, _ := r.Context().Value(exchangeKey{}).(*exchange)
	if r.Context().Err() != nil {
		// The client went away; nobody is listening for an answer.
		if ex != nil {
			ex.status = 499
		}
		return
	}
	if ex != nil {
		ex.status = http.StatusBadGateway
	}
	p.log.Warn("upstream unreachable", "upstream", p.upstream, "err", err)
	writeAPIError(w, http.StatusBadGateway, errAPI, "cc-router: upstream unreachable: "+err.Error())
}

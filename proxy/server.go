package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cc-router/cc-router/credentials"
)

// srvState is the listener side of a Proxy: one http.Server between Start
// and Stop.
type srvState struct {
	mu   sync.Mutex
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve returned
}

// watchState is the usability watcher's lifecycle.
type watchState struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// ErrSecretRequired is returned by Start for a non-loopback address when
// no proxy secret is configured.
var ErrSecretRequired = errors.New("a proxy secret is required to listen on a non-loopback address " +
	"(set proxySecret in config.json or pass --secret-file)")

// isLoopbackHost reports whether host names only this machine.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (p *Proxy) start(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if !isLoopbackHost(host) && p.cfg.Secret == "" {
		return fmt.Errorf("listen on %s: %w", addr, ErrSecretRequired)
	}
	s := &p.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return fmt.Errorf("proxy already listening on %s", s.ln.Addr())
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	s.srv, s.ln, s.done = srv, ln, make(chan struct{})
	done := s.done
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	p.startWatcher()
	return nil
}

func (p *Proxy) stop(ctx context.Context) error {
	s := &p.srv
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.srv, s.ln, s.done = nil, nil, nil
	s.mu.Unlock()
	p.stopWatcher()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		// In-flight requests outlived ctx: cut them, which cancels their
		// upstream requests too.
		_ = srv.Close()
	}
	<-done
	return err
}

func (p *Proxy) addr() string {
	s := &p.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// notifier fans a "something changed" signal out to subscribers; each
// channel holds one pending value so a slow reader never blocks.
type notifier struct {
	mu   sync.Mutex
	next int
	subs map[int]chan struct{}
}

func (n *notifier) subscribe() (<-chan struct{}, func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subs == nil {
		n.subs = make(map[int]chan struct{})
	}
	id := n.next
	n.next++
	ch := make(chan struct{}, 1)
	n.subs[id] = ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			delete(n.subs, id)
		})
	}
}

func (n *notifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// pokeWatcher asks the watcher to look at usability again.
func (p *Proxy) pokeWatcher() {
	select {
	case p.poke <- struct{}{}:
	default:
	}
}

func (p *Proxy) startWatcher() {
	w := &p.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go p.watchUsability(ctx, w.done)
}

func (p *Proxy) stopWatcher() {
	w := &p.watch
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.cancel, w.done = nil, nil
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// watchUsability notifies subscribers when the set of usable accounts changes:
// after a credentials event, after a response changed an account's state,
// and when a cooldown or limit runs out.
func (p *Proxy) watchUsability(ctx context.Context, done chan struct{}) {
	defer close(done)
	events, unsubscribe := p.tokens.Subscribe()
	defer unsubscribe()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	var lastSet, lastGen uint64
	check := func() {
		now := p.now()
		set, gen, next := p.track.usableSet(now)
		if set != lastSet || gen != lastGen {
			lastSet, lastGen = set, gen
			p.subs.notify()
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(now)+10*time.Millisecond, 10*time.Millisecond)
		}
		timer.Reset(wait)
	}
	lastSet, lastGen, _ = p.track.usableSet(p.now())
	check()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			p.track.sync()
			switch ev.Kind {
			case credentials.EventRefreshed, credentials.EventAdopted:
				p.track.newTokens(ev.AccountID, ev.Time)
			}
			check()
		case <-p.poke:
			check()
		case <-timer.C:
			check()
		}
	}
}

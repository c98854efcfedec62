package signin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// callback is the browser's answer, handed from the listener's handler to
// the goroutine running the sign-in; reply carries the outcome back so the
// handler can show it to the browser.
type callback struct {
	code  string
	err   error
	reply chan error
}

// loopback runs the sign-in with the browser answering on a loopback
// listener. The listener is closed when it returns.
func (f *flow) loopback(ctx context.Context) (Result, error) {
	lns, port, err := listenLoopback()
	if err != nil {
		return Result{}, fmt.Errorf("could not listen on 127.0.0.1 for the browser's answer: %v", err)
	}
	redirectURI := fmt.Sprintf("http://localhost:%d/callback", port)
	authURL := AuthorizeURL(f.opts.AuthorizeURL, redirectURI, f.pkce.challenge, f.pkce.state, f.opts.LoginHint)

	h := &callbackHandler{ctx: ctx, state: f.pkce.state, successURL: f.opts.SuccessURL, callbacks: make(chan callback)}
	mux := http.NewServeMux()
	mux.Handle("/callback", h)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	for _, ln := range lns {
		go srv.Serve(ln)
	}
	defer closeGracefully(srv, lns)

	f.progress(Progress{Stage: StageOpeningBrowser, URL: authURL})
	opened := make(chan error, 1)
	openCtx, stopOpening := context.WithCancel(ctx)
	defer stopOpening()
	go func() { opened <- f.opts.OpenBrowser(openCtx, authURL) }()

	for {
		select {
		case err := <-opened:
			opened = nil
			if err != nil {
				if !errors.Is(err, ErrNoBrowser) {
					err = fmt.Errorf("%w: %v", ErrNoBrowser, err)
				}
				return Result{}, err
			}
			f.progress(Progress{Stage: StageWaitingForBrowser, URL: authURL})
		case cb := <-h.callbacks:
			if cb.err != nil {
				cb.reply <- cb.err
				return Result{}, cb.err
			}
			tokens, err := f.exchange(ctx, cb.code, redirectURI)
			if err != nil {
				cb.reply <- f.explain(ctx, err)
				return Result{}, err
			}
			cb.reply <- nil
			return Result{Tokens: tokens}, nil
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
}

// listenLoopback listens on 127.0.0.1 with a port the OS picks and, when
// it can, on [::1] with the same port, since browsers may resolve
// "localhost" to either. It never binds a non-loopback address.
func listenLoopback() ([]net.Listener, int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	lns := []net.Listener{ln}
	if ln6, err := net.Listen("tcp", fmt.Sprintf("[::1]:%d", port)); err == nil {
		lns = append(lns, ln6)
	}
	return lns, port, nil
}

// closeGracefully lets a response being written reach the browser, then
// closes the listeners and connections. The listeners are closed here too,
// since a Serve goroutine that has not started yet would not close its own.
func closeGracefully(srv *http.Server, lns []net.Listener) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
	for _, ln := range lns {
		ln.Close()
	}
}

// callbackHandler serves /callback: the first request is the answer; it is
// checked here and handed to the sign-in, whose outcome decides what the
// browser sees.
type callbackHandler struct {
	ctx        context.Context
	state      string
	successURL string
	callbacks  chan callback
	answered   atomic.Bool
}

func (h *callbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !loopbackHost(r.Host) { // a page on another site reaching us by DNS rebinding
		http.Error(w, "unexpected host", http.StatusMisdirectedRequest)
		return
	}
	if !h.answered.CompareAndSwap(false, true) {
		page(w, http.StatusConflict, "Already answered", "This sign-in has already been answered. You can close this window.")
		return
	}
	cb := callback{reply: make(chan error, 1)}
	q := r.URL.Query()
	switch {
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(h.state)) != 1:
		cb.err = ErrStateMismatch
	case q.Get("error") == "access_denied":
		cb.err = ErrAccessDenied
	case q.Get("error") != "":
		cb.err = fmt.Errorf("the sign-in failed in the browser: %s: %s", redact(q.Get("error")), redact(q.Get("error_description")))
	case q.Get("code") == "":
		cb.err = errors.New("the browser's answer carried no sign-in code")
	default:
		cb.code = q.Get("code")
	}
	select {
	case h.callbacks <- cb:
	case <-h.ctx.Done():
		page(w, http.StatusServiceUnavailable, "Sign-in ended", "This sign-in has already ended (timed out or cancelled). Nothing was saved; start it again from cc-router.")
		return
	}
	var err error
	select {
	case err = <-cb.reply:
	case <-h.ctx.Done():
		err = ErrCanceled
	}
	if err != nil {
		page(w, http.StatusBadRequest, "Sign-in failed", err.Error()+". You can close this window.")
		return
	}
	http.Redirect(w, r, h.successURL, http.StatusFound)
}

// loopbackHost reports whether a request's Host names this machine's
// loopback (localhost, 127.0.0.1 or ::1, with any port).
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}

// page writes a small HTML page to the browser.
func page(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>cc-router: %s</title><h1>%s</h1><p>%s</p>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(msg))
}

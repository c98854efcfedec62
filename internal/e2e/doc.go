// Package e2e holds cc-router's end-to-end fault suite: it builds the
// binary once per test run, starts `cc-router serve` as a real process
// against the loopback fake of Anthropic (internal/fakeanthropic) and
// against deliberately broken upstreams, and checks what a client sees,
// what lands on disk, and what the process holds afterwards.
//
// The quick variants run in `go test` (and CI) under -race; `make soak`
// runs the long ones (go test ./internal/e2e/ -soak).
package e2e

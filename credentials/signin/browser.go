package signin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// openerGrace is how long OpenBrowser waits for the opener to fail before
// taking it as started: xdg-open and friends exit non-zero at once when
// there is no browser, while a browser run directly may keep running.
const openerGrace = 1500 * time.Millisecond

// OpenBrowser opens url in the user's browser. It runs the program named
// by the BROWSER environment variable when set (a colon-separated list is
// tried in order), else the platform's opener (open on macOS, xdg-open on
// Linux when a display is present). The program gets the URL as its one
// argument, never through a shell. It returns an error wrapping
// ErrNoBrowser when no program could be run or every one failed at once.
func OpenBrowser(ctx context.Context, url string) error {
	progs := browserPrograms()
	if len(progs) == 0 {
		return fmt.Errorf("%w: %s", ErrNoBrowser, noBrowserReason())
	}
	var errs []error
	for _, p := range progs {
		err := runOpener(ctx, p, url)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("%w: %v", ErrNoBrowser, errors.Join(errs...))
}

// browserPrograms lists the programs to try, in order.
func browserPrograms() []string {
	if b := os.Getenv("BROWSER"); b != "" {
		var progs []string
		for _, p := range strings.Split(b, ":") {
			if p = strings.TrimSpace(p); p != "" {
				progs = append(progs, p)
			}
		}
		return progs
	}
	return platformOpeners()
}

// runOpener starts prog with url as its only argument. It succeeds when the
// program exits with status 0, or is still running after openerGrace (the
// program is then left to finish on its own).
func runOpener(ctx context.Context, prog, url string) error {
	cmd := exec.Command(prog, url) // no shell: the URL is one argument
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %v", prog, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTimer(openerGrace)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %v", prog, err)
		}
		return nil
	case <-t.C:
		return nil
	case <-ctx.Done():
		return nil // the caller sees the cancellation itself
	}
}

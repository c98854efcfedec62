//go:build darwin

package credentials

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
)

// securityPath is the macOS security tool, by absolute path so that PATH
// cannot substitute another program. Tests point it at a fake.
var securityPath = "/usr/bin/security"

// keychainNotFound is security's exit status for a missing item.
const keychainNotFound = 44

func defaultSource() (source, ref string, err error) {
	return SourceKeychain, KeychainService(), nil
}

// loginUser is the Keychain account Claude Code stores its item under.
func loginUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// readKeychain reads Claude Code's login from the Keychain item service.
// The arguments go to the program as a fixed list: no shell is involved,
// whatever the values hold.
func readKeychain(ctx context.Context, service string) (*ClaudeLogin, error) {
	cmd := exec.CommandContext(ctx, securityPath, "find-generic-password", "-a", loginUser(), "-s", service, "-w")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == keychainNotFound {
			return nil, fmt.Errorf("%w: no Keychain item %q", ErrNoClaudeLogin, service)
		}
		return nil, fmt.Errorf("reading Keychain item %q: %v: %s", service, err, shorten(Scrub(stderr.String()), 200))
	}
	out := bytes.TrimRight(stdout.Bytes(), "\r\n")
	// security prints data that is not plain text as hex.
	if len(out) > 0 && out[0] != '{' {
		if dec, err := hex.DecodeString(string(out)); err == nil {
			out = dec
		}
	}
	return ParseClaudeCredentials(fmt.Sprintf("Keychain item %q", service), out)
}
